using K8sTraining.Contract;
using K8sTraining.Training.Loop;

namespace K8sTraining.Training.Hosting;

/// <summary>What the process tells Kubernetes when it ends: the exit code and the termination message.</summary>
public sealed record TrainerExit(int ExitCode, TerminationMessage Report)
{
    /// <summary>
    /// The one mapping from an outcome to the documented exit code, status and reason (see <see cref="TrainerExitCodes"/>),
    /// reported from what the attempt knows and the newest checkpoint committed remotely.
    /// </summary>
    public static TrainerExit For(TrainingOutcome outcome, AttemptRecord attempt, (long GlobalStep, string Uri)? newestRemote)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        ArgumentNullException.ThrowIfNull(attempt);
        (int ExitCode, string Status, string? Reason) mapping = outcome switch
        {
            TrainingOutcome.Completed => (TrainerExitCodes.Completed, TerminationStatuses.Completed, null),
            TrainingOutcome.Interrupted => (TrainerExitCodes.Interrupted, TerminationStatuses.Preempted, null),
            TrainingOutcome.DeadlineExceeded => (TrainerExitCodes.Interrupted, TerminationStatuses.Preempted, TerminationReasons.DeadlineExceeded),
            TrainingOutcome.StoppedWithoutCheckpoint => (TrainerExitCodes.Failed, TerminationStatuses.Failed, null),
            TrainingOutcome.Superseded => (TrainerExitCodes.Superseded, TerminationStatuses.Superseded, TerminationReasons.Superseded),
            TrainingOutcome.Invalid invalid => (TrainerExitCodes.InvalidConfiguration, TerminationStatuses.Invalid, invalid.Reason),
            TrainingOutcome.StorageUnavailable => (TrainerExitCodes.StorageUnavailable, TerminationStatuses.Failed, TerminationReasons.StorageUnavailable),
            // Not this rank's failure: the attempt is accounted by the worker that really ended it.
            TrainingOutcome.PeerLost => (TrainerExitCodes.PeerLost, TerminationStatuses.Preempted, TerminationReasons.PeerLost),
            TrainingOutcome.Failed => (TrainerExitCodes.Failed, TerminationStatuses.Failed, null),
            _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome.GetType().Name, "an outcome without an exit code"),
        };
        var report = attempt.Report(mapping.Status, outcome.Message, mapping.Reason, newestRemote);
        if (outcome is TrainingOutcome.Superseded)
        {
            // The checkpoint reported is the newest this attempt knows committed remotely, never a local one: those are
            // on a node the job has left, and the newer attempt owns the prefix.
            report = report with
            {
                Checkpoint = newestRemote?.Uri,
                CheckpointUploaded = newestRemote is not null,
                Best = CheckpointLayout.IsRemote(report.Best?.Location) ? report.Best : null,
            };
        }
        return new TrainerExit(mapping.ExitCode, report);
    }
}
