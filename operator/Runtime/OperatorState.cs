using K8sTraining.Operator.Metrics;

namespace K8sTraining.Operator.Runtime;

/// <summary>What /readyz and /healthz report, and what the metrics read of the runtime at each scrape.</summary>
public sealed class OperatorState : IRuntimeReadings
{
    public volatile bool IsLeader;
    public volatile bool CachesSynced;
    public volatile string? Leader;

    public TrainingJobController? Controller { get; set; }

    bool IRuntimeReadings.IsLeader => IsLeader;

    int IRuntimeReadings.QueueLength => Controller?.QueueLength ?? 0;

    int IRuntimeReadings.WatchRestarts => Controller?.WatchRestarts ?? 0;
}
