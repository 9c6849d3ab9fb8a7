using K8sTraining.Operator.Api;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>
/// The job's deadline as spec.activeDeadlineSeconds sets it: from status.startTime, which is the start of the job or its
/// last resume from a suspend (as for batch/v1 Jobs), so a suspended job gets its full time again. Each attempt's pod is
/// told this instant (TRAINER_DEADLINE) so its trainer can checkpoint and stop before it.
/// </summary>
public static class AttemptDeadline
{
    /// <summary>The deadline of a job that started (or resumed) at <paramref name="start"/>; null without activeDeadlineSeconds.</summary>
    public static DateTimeOffset? Of(TrainingJobSpec spec, DateTime? start)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return spec.ActiveDeadlineSeconds is { } seconds && start is { } s
            ? new DateTimeOffset(DateTime.SpecifyKind(s, DateTimeKind.Utc)).AddSeconds(seconds)
            : null;
    }
}
