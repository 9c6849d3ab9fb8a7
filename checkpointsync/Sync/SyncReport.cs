using K8sTraining.Contract;
using K8sTraining.Training.Storage;

namespace K8sTraining.CheckpointSync.Sync;

/// <summary>How the sidecar ends: its exit code and its termination message (status null: the trainer's to say).</summary>
public sealed record SyncReport(int ExitCode, TerminationMessage Message)
{
    /// <summary>
    /// After the flush: exit 0 when the newest checkpoint handed over is committed (or there was none), 76 when a newer
    /// attempt took the prefix over, 69 when the store did not commit it in time (unreachable). The message names the
    /// newest committed checkpoint, its position, and whether the newest one the trainer wrote is among the committed.
    /// </summary>
    public static SyncReport AfterFlush(RemoteFlushResult result, CheckpointPosition? committed, long newestHandedOver, CheckpointPosition? restoredFrom, string? restoredUri, SupersededException? superseded)
    {
        var newestName = newestHandedOver >= 0 ? CheckpointLayout.DirectoryName(newestHandedOver) : null;
        var (exitCode, reason, text) = (superseded, result.AllCommitted) switch
        {
            ({ } s, _) => (TrainerExitCodes.Superseded, TerminationReasons.Superseded, $"stopped uploading: {s.Message}"),
            (null, true) when result.NewestCommittedUri is null => (TrainerExitCodes.Completed, (string?)null, "no checkpoint to upload: the trainer wrote none and nothing was restored"),
            (null, true) => (TrainerExitCodes.Completed, null, $"{result.NewestCommittedUri} is committed, the newest checkpoint the trainer wrote"),
            (null, false) => (TrainerExitCodes.StorageUnavailable, TerminationReasons.StorageUnavailable,
                $"{newestName ?? "the newest checkpoint"} was not committed within the shutdown budget ({result.Backlog} left; the store was unreachable or failing); newest committed: {result.NewestCommittedUri ?? "none"}"),
        };
        return new SyncReport(exitCode, new TerminationMessage
        {
            Status = null,
            GlobalStep = committed?.GlobalStep,
            Epoch = committed?.Epoch,
            StepInEpoch = committed?.StepInEpoch,
            Checkpoint = result.NewestCommittedUri,
            CheckpointUploaded = superseded is null && result.AllCommitted && result.NewestCommittedUri is not null,
            Message = text,
            Reason = reason,
            ResumedFrom = restoredFrom is null ? null : new ResumePoint(restoredFrom.GlobalStep, restoredFrom.Epoch, restoredFrom.StepInEpoch, restoredUri),
        });
    }

    /// <summary>Start-up failed: the exit code and reason of the trainer's contract for the same failure.</summary>
    public static SyncReport Failed(int exitCode, string? reason, string message) =>
        new(exitCode, new TerminationMessage { Status = null, Message = message, Reason = reason, CheckpointUploaded = false });
}
