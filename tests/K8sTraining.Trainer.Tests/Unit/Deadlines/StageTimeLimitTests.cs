using K8sTraining.Training.Deadlines;
using K8sTraining.Training.Loop;

namespace K8sTraining.Trainer.Tests.Unit.Deadlines;

[Trait("Category", "Unit")]
public sealed class StageTimeLimitTests
{
    private static readonly DateTimeOffset Entered = new(2026, 11, 30, 21, 0, 0, TimeSpan.Zero);

    private sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Theory]
    [InlineData("neither", null, null, null, null)]
    [InlineData("only the attempt's deadline", 30.0, null, 30.0, "the deadline 2026-11-30T21:00:30Z")]
    [InlineData("only the stage's limit", null, 20, 20.0, "the deadline 2026-11-30T21:00:20Z of stage 'medium' (maxDurationSeconds 20 from 2026-11-30T21:00:00Z)")]
    [InlineData("the stage's limit first", 30.0, 20, 20.0, "the deadline 2026-11-30T21:00:20Z of stage 'medium'")]
    [InlineData("the attempt's deadline first", 10.0, 20, 10.0, "the deadline 2026-11-30T21:00:10Z")]
    public void Of_Should_BeTheEarlierOfTheStagesLimitAndTheAttemptsDeadline_When_AStageIsEntered(string name, double? attemptSeconds, int? maxDurationSeconds, double? expectedSeconds, string? cause)
    {
        var attempt = attemptSeconds is { } a ? Entered.AddSeconds(a) : (DateTimeOffset?)null;

        var limit = StageTimeLimit.Of(attempt, "medium", Entered, maxDurationSeconds);

        Assert.True(expectedSeconds is null == limit is null, name);
        if (limit is { } found)
        {
            var (deadline, why) = found;
            Assert.Equal(Entered.AddSeconds(expectedSeconds!.Value), deadline);
            Assert.StartsWith(cause!, why, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Due_Should_StopForTheStagesLimitCountedFromItsEntry_When_TheRunHasNoDeadlineOfItsOwn()
    {
        var clock = new ManualClock(Entered);
        var guard = new DeadlineGuard(null, clock, checkpointBytes: 0, evaluationBatches: 0, newestRemoteStep: null, stageLimits: true);
        var plan = new OptimizerStepPlan(1000, 1);
        guard.RecordCheckpoint(1, TimeSpan.FromMilliseconds(100));
        // A stage without a limit never stops the run, however long it takes.
        guard.EnterStage("small", null);
        clock.Now += TimeSpan.FromHours(1);
        Assert.False(guard.Due(0, 1, plan));

        // The next stage's 10 s count from its entry: 0.5 s steps (reserve 0.2 + 1 + 2 = 3.2 s) stop it 7 s in.
        guard.EnterStage("medium", 10);
        var step = 0;
        while (!guard.Due(1, step, plan))
        {
            clock.Now += TimeSpan.FromMilliseconds(500);
            step++;
        }

        Assert.Equal(14, step);
        Assert.Contains("of stage 'medium' (maxDurationSeconds 10", guard.StopCause, StringComparison.Ordinal);
        Assert.IsType<TrainingOutcome.DeadlineExceeded>(guard.Explain(new TrainingOutcome.Interrupted("Stopped after global step 15")));
    }
}
