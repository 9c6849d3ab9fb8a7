using K8sTraining.Operator.Api;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>
/// Failures a spec edit can cure: the job failed because of its spec as it was (a checkpoint prefix owned by another
/// job, training settings that differ from the checkpoint's, a deadline since raised), and the spec has changed since.
/// Such a job runs again instead of staying Failed for good; every other failure stays final, as for a batch/v1 Job. A
/// Succeeded job whose run was extended (more epochs or stages) runs again too, from its last checkpoint.
/// </summary>
public static class Revival
{
    /// <summary>The trainer's words (exit 2) when a checkpoint was trained with other settings.</summary>
    public const string DiffersFromCheckpoint = "differs from";

    /// <summary>Why the failed job may run again, or null when it stays Failed.</summary>
    public static string? Why(TrainingJob job, TrainingJobStatus status, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(status);
        if (Extended(job, status) is { } extended)
        {
            return extended;
        }

        if (status.Phase != JobPhases.Failed
            || Conditions.Find(status.Conditions, ConditionTypes.Failed) is not { Status: "True" } failed
            || failed.ObservedGeneration is not { } failedAt
            || job.Metadata.Generation is not { } generation
            || generation <= failedAt)
        {
            return null;
        }

        if (failed.Reason == ConditionReasons.DeadlineExceeded)
        {
            // Raised (or removed) past now: the job resumes from its checkpoint, on the clock it started with. So does a
            // job a stage's maxDurationSeconds stopped, once the spec changed (that limit raised) and no job deadline passed.
            return AttemptDeadline.Of(job.Spec, status.StartTime) is not { } deadline || deadline > now
                ? "the spec changed after a deadline stopped the job (spec.activeDeadlineSeconds or a stage's maxDurationSeconds raised), and no job deadline has passed; it continues from its last checkpoint"
                : null;
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

    /// <summary>
    /// A Succeeded job whose run was extended (more epochs, or stages added) since its last attempt, with a checkpoint
    /// store to resume from: it returns to Running and continues from its last checkpoint.
    /// </summary>
    private static string? Extended(TrainingJob job, TrainingJobStatus status)
    {
        if (status.Phase != JobPhases.Succeeded
            || string.IsNullOrEmpty(job.Spec.Checkpoint?.Uri)
            || status.ResumeFrom is null
            || status.CurrentAttempt is not { Epochs: { } trained, ObservedGeneration: { } built }
            || job.Metadata.Generation is not { } generation || generation <= built
            || job.Spec.EffectiveEpochs is not { } epochs || epochs <= trained)
        {
            return null;
        }

        return $"the run was extended from {trained} to {epochs} epochs; it continues from its last checkpoint";
    }
}
