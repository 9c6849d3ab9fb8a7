using K8sTraining.Operator.Api;
using k8s.Models;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>Asks a running attempt's trainer where it is (at most once per <see cref="Interval"/> per pod).</summary>
public interface ITrainerProgress
{
    TimeSpan Interval { get; }

    /// <summary>How long until this pod may be asked again (zero when it may be now).</summary>
    TimeSpan DueIn(V1Pod pod);

    /// <summary>The trainer's report, or null when it cannot be asked now or did not answer.</summary>
    Task<TrainerReport?> ReadAsync(TrainingJob job, V1Pod pod, CancellationToken cancellationToken);
}
