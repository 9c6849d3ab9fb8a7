using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;
using K8sTraining.Training.Hosting;
using K8sTraining.Training.Storage;
using K8sTraining.Training.Loop;

namespace K8sTraining.Trainer.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class AttemptRecordTests
{
    private const string Local = "/ckpt/step-000000000040";
    private const string Remote = "s3://b/p/step-000000000040";

    [Theory]
    [InlineData("no checkpoint anywhere", null, null, null, false)]
    [InlineData("local only, no remote store", 40L, null, Local, false)]
    [InlineData("restored from remote, stopped before a step (the dead pod's path)", 40L, 40L, Remote, true)]
    [InlineData("remote newer than local", 30L, 40L, Remote, true)]
    [InlineData("local newer, upload not committed", 50L, 40L, "/ckpt/step-000000000050", false)]
    [InlineData("remote only", null, 40L, Remote, true)]
    public void NewestDurable_Should_NeverReportALocalPathAsUploaded_When_Deciding(string name, long? localStep, long? remoteStep, string? checkpoint, bool uploaded)
    {
        _ = name;
        var local = localStep is { } l ? (l, $"/ckpt/step-{l:D12}") : ((long, string)?)null;
        var remote = remoteStep is { } r ? (r, $"s3://b/p/step-{r:D12}") : ((long, string)?)null;
        Assert.Equal((checkpoint, uploaded), AttemptRecord.NewestDurable(local, remote));
    }

    [Fact]
    public void Report_Should_KeepTheLastKnownPositionAndResumePoint_When_TheAttemptFails()
    {
        var attempt = new AttemptRecord();
        attempt.RecordResume(40, 1, 8, Remote);
        attempt.RecordLocalCheckpoint(new LocalCheckpoint(Local, new CheckpointManifest(1, 40, 1, 8, DateTimeOffset.UnixEpoch, [])));
        attempt.RecordPosition(47, 1, 15);

        var report = attempt.Report(TerminationStatuses.Failed, "IOException: No space left on device", null, (40, Remote));

        Assert.Equal((47L, 1, 15), (report.GlobalStep, report.Epoch, report.StepInEpoch));
        Assert.Equal(new ResumePoint(40, 1, 8, Remote), report.ResumedFrom);
        Assert.Equal((Remote, true), (report.Checkpoint, report.CheckpointUploaded));
    }

    [Theory]
    [InlineData("prefix in use", TerminationReasons.CheckpointPrefixInUse)]
    [InlineData("storage configuration", TerminationReasons.InvalidConfiguration)]
    [InlineData("dataset file", TerminationReasons.InvalidConfiguration)]
    [InlineData("configuration mismatch", TerminationReasons.InvalidConfiguration)]
    [InlineData("damaged latest.json in the store", TerminationReasons.InvalidConfiguration)]
    [InlineData("storage unreachable", null)]
    [InlineData("disk full", null)]
    public void InvalidReason_Should_MapUserErrorsToTheirReason_When_AnAttemptEndsWithAnError(string name, string? reason)
    {
        Exception error = name switch
        {
            "prefix in use" => new CheckpointPrefixInUseException("in use"),
            "storage configuration" => new RemoteStoreConfigurationException("bad key"),
            "dataset file" => new K8sTraining.Training.Options.InvalidInputException("truncated"),
            "configuration mismatch" => new ConfigurationMismatchException("--lr differs"),
            "damaged latest.json in the store" => new RemoteCheckpointDamagedException("latest.json is unreadable"),
            "storage unreachable" => new RemoteStoreUnavailableException("unreachable"),
            _ => new IOException("No space left on device"),
        };
        Assert.Equal(reason, TrainingWorker.InvalidReason(error));
    }
}
