using K8sTraining.CheckpointSync.Sync;
using K8sTraining.Contract;
using K8sTraining.Training.Storage;

namespace K8sTraining.CheckpointSync.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class SyncReportTests
{
    private const string Uri20 = "s3://b/p/step-000000000020";

    public static TheoryData<string, RemoteFlushResult, long, bool, int, bool, string?> Cases => new()
    {
        { "the newest checkpoint committed", new(true, Uri20, 20, 0), 20, false, TrainerExitCodes.Completed, true, null },
        { "nothing written, nothing restored", new(true, null, null, 0), -1, false, TrainerExitCodes.Completed, false, null },
        { "the newest not committed in time", new(false, Uri20, 20, 1), 30, false, TrainerExitCodes.StorageUnavailable, false, TerminationReasons.StorageUnavailable },
        { "nothing ever committed", new(false, null, null, 1), 10, false, TrainerExitCodes.StorageUnavailable, false, TerminationReasons.StorageUnavailable },
        { "a newer attempt took over", new(true, Uri20, 20, 0), 20, true, TrainerExitCodes.Superseded, false, TerminationReasons.Superseded },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void AfterFlush_Should_ChooseTheExitCodeAndReport_When_TheFlushEnded(string because, RemoteFlushResult result, long handed, bool superseded, int exitCode, bool uploaded, string? reason)
    {
        var committed = result.NewestCommittedGlobalStep is { } s ? new CheckpointPosition(s, 1, 3) : null;

        var report = SyncReport.AfterFlush(result, committed, handed, null, null, superseded ? new SupersededException("attempt 3 fenced the prefix", 2, 3) : null);

        Assert.True((exitCode, uploaded, reason) == (report.ExitCode, report.Message.CheckpointUploaded, report.Message.Reason), $"{because}: {report}");
        Assert.Null(report.Message.Status);
        Assert.Equal(result.NewestCommittedUri, report.Message.Checkpoint);
        Assert.Equal(committed?.GlobalStep, report.Message.GlobalStep);
        Assert.False(string.IsNullOrWhiteSpace(report.Message.Message), because);
    }
}
