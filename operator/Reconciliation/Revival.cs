using K8sTraining.Operator.Api;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>
/// Failures a spec edit can cure: the job failed because of its spec as it was (a checkpoint prefix owned by another
/// job, training settings that differ from the checkpoint's), and the spec has changed since. Such a job runs again
/// instead of staying Failed for good; every other failure stays final, as for a batch/v1 Job.
/// </summary>
public static class Revival
{
    /// <summary>The trainer's words (exit 2) when a checkpoint was trained with other settings.</summary>
    public const string DiffersFromCheckpoint = "differs from";

    /// <summary>Why the failed job may run again, or null when it stays Failed.</summary>
    public static string? Why(TrainingJob job, TrainingJobStatus status)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(status);
        if (status.Phase != JobPhases.Failed
            || Conditions.Find(status.Conditions, ConditionTypes.Failed) is not { Status: "True" } failed
            || failed.ObservedGeneration is not { } failedAt
            || job.Metadata.Generation is not { } generation
            || generation <= failedAt)
        {
            return null;
        }

        if (failed.Reason == ConditionReasons.CheckpointPrefixInUse)
        {
            return "the spec changed since the checkpoint prefix was found in use";
        }

        var differs = failed.Reason == ConditionReasons.ConfigurationError
            && status.LastTermination?.Message?.Contains(DiffersFromCheckpoint, StringComparison.Ordinal) == true;
        return differs && TrainingChanges.Refused(job.Spec, status, attemptAlive: true) is null
            ? "the spec changed since the trainer refused training settings that differ from its checkpoint"
            : null;
    }
}
