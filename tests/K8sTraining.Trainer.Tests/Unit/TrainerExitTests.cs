using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;
using K8sTraining.Training.Hosting;
using K8sTraining.Training.Loop;

namespace K8sTraining.Trainer.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class TrainerExitTests
{
    private const string Local = "/ckpt/step-000000000050";
    private const string Remote = "s3://b/p/step-000000000040";

    private static TrainingOutcome Outcome(string name) => name switch
    {
        "completed" => new TrainingOutcome.Completed("done"),
        "interrupted" => new TrainingOutcome.Interrupted("stopped"),
        "stopped without checkpoint" => new TrainingOutcome.StoppedWithoutCheckpoint("lost"),
        "superseded" => new TrainingOutcome.Superseded("newer attempt 3"),
        "invalid" => new TrainingOutcome.Invalid("--lr differs", TerminationReasons.InvalidConfiguration),
        "prefix in use" => new TrainingOutcome.Invalid("owned by another job", TerminationReasons.CheckpointPrefixInUse),
        "storage unavailable" => new TrainingOutcome.StorageUnavailable("unreachable"),
        "deadline exceeded" => new TrainingOutcome.DeadlineExceeded("stopped for the deadline"),
        "peer lost" => new TrainingOutcome.PeerLost("rank 1 at 10.0.0.8 closed the connection"),
        _ => new TrainingOutcome.Failed("IOException: No space left on device"),
    };

    [Theory]
    [InlineData("completed", TrainerExitCodes.Completed, TerminationStatuses.Completed, null)]
    [InlineData("interrupted", TrainerExitCodes.Interrupted, TerminationStatuses.Preempted, null)]
    [InlineData("stopped without checkpoint", TrainerExitCodes.Failed, TerminationStatuses.Failed, null)]
    [InlineData("superseded", TrainerExitCodes.Superseded, TerminationStatuses.Superseded, TerminationReasons.Superseded)]
    [InlineData("invalid", TrainerExitCodes.InvalidConfiguration, TerminationStatuses.Invalid, TerminationReasons.InvalidConfiguration)]
    [InlineData("prefix in use", TrainerExitCodes.InvalidConfiguration, TerminationStatuses.Invalid, TerminationReasons.CheckpointPrefixInUse)]
    [InlineData("storage unavailable", TrainerExitCodes.StorageUnavailable, TerminationStatuses.Failed, TerminationReasons.StorageUnavailable)]
    [InlineData("failed", TrainerExitCodes.Failed, TerminationStatuses.Failed, null)]
    [InlineData("deadline exceeded", TrainerExitCodes.Interrupted, TerminationStatuses.Preempted, TerminationReasons.DeadlineExceeded)]
    [InlineData("peer lost", TrainerExitCodes.PeerLost, TerminationStatuses.Preempted, TerminationReasons.PeerLost)]
    public void For_Should_GiveTheDocumentedExitCodeStatusAndReason_When_AnAttemptEndsThisWay(string name, int exitCode, string status, string? reason)
    {
        var outcome = Outcome(name);
        var attempt = new AttemptRecord();
        attempt.RecordPosition(47, 1, 15);

        var exit = TrainerExit.For(outcome, attempt, null);

        Assert.Equal(exitCode, exit.ExitCode);
        Assert.Equal((status, reason, outcome.Message), (exit.Report.Status, exit.Report.Reason, exit.Report.Message));
        Assert.Equal((47L, 1, 15), (exit.Report.GlobalStep, exit.Report.Epoch, exit.Report.StepInEpoch));
    }

    [Theory]
    [InlineData("failed", Local, false)]
    [InlineData("interrupted", Local, false)]
    [InlineData("superseded", Remote, true)]
    public void For_Should_ReportOnlyTheRemoteCheckpoint_When_SupersededWithANewerLocalOne(string name, string checkpoint, bool uploaded)
    {
        var attempt = new AttemptRecord();
        attempt.RecordLocalCheckpoint(new LocalCheckpoint(Local, new CheckpointManifest(1, 50, 1, 10, DateTimeOffset.UnixEpoch, [])));

        var exit = TrainerExit.For(Outcome(name), attempt, (40, Remote));

        Assert.Equal((checkpoint, uploaded), (exit.Report.Checkpoint, exit.Report.CheckpointUploaded));
    }
}
