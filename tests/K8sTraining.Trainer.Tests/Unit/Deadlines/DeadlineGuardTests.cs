using K8sTraining.Training.Deadlines;
using K8sTraining.Training.Loop;

namespace K8sTraining.Trainer.Tests.Unit.Deadlines;

[Trait("Category", "Unit")]
public sealed class DeadlineGuardTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 30, 21, 0, 0, TimeSpan.Zero);

    private sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public void Due_Should_StopOnceTheMeasuredCostsNoLongerFit_When_StepsAndACheckpointWereMeasured()
    {
        var clock = new ManualClock(Start);
        var guard = new DeadlineGuard(Start.AddSeconds(10), clock, checkpointBytes: 0, evaluationBatches: 0, newestRemoteStep: null);
        var plan = new OptimizerStepPlan(1000, 1);
        guard.RecordCheckpoint(10, TimeSpan.FromMilliseconds(100));
        var step = 0;
        // 0.5 s steps, each counted twice, a 0.1 s write counted twice, and the 2 s margin: 3.2 s of reserve.
        while (!guard.Due(0, step, plan))
        {
            clock.Now += TimeSpan.FromMilliseconds(500);
            step++;
        }

        Assert.Equal(14, step);
        Assert.Contains("for the deadline 2026-11-30T21:00:10Z", guard.StopCause, StringComparison.Ordinal);
        var outcome = guard.Explain(new TrainingOutcome.Interrupted("Stopped after global step 14"));
        Assert.IsType<TrainingOutcome.DeadlineExceeded>(outcome);
    }

    [Fact]
    public void Due_Should_StopOnlyAtTheStartOfAGroup_When_GradientsAccumulate()
    {
        var clock = new ManualClock(Start);
        var guard = new DeadlineGuard(Start.AddSeconds(1), clock, checkpointBytes: 0, evaluationBatches: 0, newestRemoteStep: null);
        var plan = new OptimizerStepPlan(100, 4);

        Assert.False(guard.Due(0, 1, plan));
        Assert.False(guard.Due(0, 3, plan));
        Assert.True(guard.Due(0, 4, plan));
    }

    [Fact]
    public void Explain_Should_LeaveTheOutcome_When_TheGuardDidNotStopTheRun()
    {
        var interrupted = new TrainingOutcome.Interrupted("Stopped by signal");

        Assert.Same(interrupted, DeadlineGuard.None.Explain(interrupted));
        Assert.False(DeadlineGuard.None.Due(0, 0, new OptimizerStepPlan(10, 1)));
    }

    [Theory]
    [InlineData("no deadline", null, false)]
    [InlineData("ahead", 5.0, false)]
    [InlineData("passed", -5.0, true)]
    [InlineData("passing now", 0.0, true)]
    public void PassedAtStart_Should_SaySo_When_TheDeadlineIsNoLongerAhead(string name, double? secondsAhead, bool passed)
    {
        var deadline = secondsAhead is { } s ? Start.AddSeconds(s) : (DateTimeOffset?)null;

        Assert.True(passed == DeadlineGuard.PassedAtStart(deadline, new ManualClock(Start)) is not null, name);
    }
}
