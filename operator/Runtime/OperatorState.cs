namespace K8sTraining.Operator.Runtime;

/// <summary>What /readyz and /healthz report.</summary>
public sealed class OperatorState
{
    public volatile bool IsLeader;
    public volatile bool CachesSynced;
    public volatile string? Leader;

    public TrainingJobController? Controller { get; set; }
}
