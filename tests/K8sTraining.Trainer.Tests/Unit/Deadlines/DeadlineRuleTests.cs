using K8sTraining.Training.Deadlines;

namespace K8sTraining.Trainer.Tests.Unit.Deadlines;

[Trait("Category", "Unit")]
public sealed class DeadlineRuleTests
{
    private static readonly DateTimeOffset Deadline = new(2026, 11, 30, 22, 0, 0, TimeSpan.Zero);

    private static TimeSpan S(double seconds) => TimeSpan.FromSeconds(seconds);

    // Measured: a 0.1 s write and a 0.1 s step (each counted twice): 0.2 + 0.2 + the 2 s margin = a 2.4 s reserve.
    private static readonly DeadlineInputs Measured = new(0, RemoteStore: false, StepsToNextStop: 1, EpochEndsFirst: false, EvaluationBatches: 10, CheckpointWrite: S(0.1), Step: S(0.1));

    private static readonly DeadlineInputs Unmeasured = new(0, RemoteStore: false, StepsToNextStop: 1, EpochEndsFirst: false, EvaluationBatches: 10);

    public static TheoryData<string, double, DeadlineInputs, bool> Cases => new()
    {
        // name, seconds left, what the guard knows, stop now
        { "far ahead: train on", 60, Measured, false },
        { "just more than the measured reserve: train on", 2.5, Measured, false },
        { "exactly the reserve left: stop", 2.4, Measured, true },
        { "less than the reserve left: stop", 2.3, Measured, true },
        { "already past: stop", -1, Measured, true },
        { "nothing measured yet: the defaults count (1 s write, 2 s step, 2 s margin)", 4.9, Unmeasured, true },
        { "nothing measured yet, more than the defaults left: train on", 5.1, Unmeasured, false },
        { "a big checkpoint before its first write: 100 MB at 20 MB/s + 1 s", 8.1, Measured with { CheckpointBytes = 100_000_000, CheckpointWrite = null }, true },
        { "a big checkpoint before its first write, enough left: train on", 8.3, Measured with { CheckpointBytes = 100_000_000, CheckpointWrite = null }, false },
        { "a remote store adds the measured upload (0.5 s, twice)", 3.3, Measured with { RemoteStore = true, Upload = S(0.5) }, true },
        { "a remote store, enough left for the upload too: train on", 3.5, Measured with { RemoteStore = true, Upload = S(0.5) }, false },
        { "a remote store before the first upload: 2 s + the bytes at 5 MB/s", 4.3, Measured with { RemoteStore = true, CheckpointBytes = 1_000_000 }, true },
        { "the epoch ends first: its measured end (1 s, twice) counts", 4.3, Measured with { EpochEndsFirst = true, EpochEnd = S(1) }, true },
        { "the epoch ends first, enough left: train on", 4.5, Measured with { EpochEndsFirst = true, EpochEnd = S(1) }, false },
        { "the epoch ends first before one was measured: its evaluation batches as steps, and its checkpoint", 4.5, Measured with { EpochEndsFirst = true }, true },
        { "a group of 4 batches before the next chance to stop", 3.0, Measured with { StepsToNextStop = 4 }, true },
        { "a group of 4 batches, enough left: train on", 3.1, Measured with { StepsToNextStop = 4 }, false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Decide_Should_StopOnlyWhenContinuingCouldNotCheckpointInTime_When_AskedAtAStepBoundary(string name, double secondsLeft, DeadlineInputs inputs, bool stop)
    {
        var decision = DeadlineRule.Decide(Deadline - S(secondsLeft), Deadline, inputs);

        Assert.True(stop == decision.Stop, $"{name}: stop {decision.Stop} with {decision.Left.TotalSeconds} s left, reserve {decision.Reserve.TotalSeconds} s ({decision.Breakdown})");
    }
}
