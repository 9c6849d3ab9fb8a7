namespace K8sTraining.Chaos.Runner;

/// <summary>How much of each scenario a run does: the full suite (`make chaos`) or the seeded subset of `make test`.</summary>
public sealed record ChaosProfile(
    string Name,
    int Interruptions,
    int InterruptionEpochs,
    double InterruptionShare,
    int FaultRuns,
    double FaultRate,
    int S3Restarts,
    int FuzzCases)
{
    /// <summary>`make chaos`: >= 100 interruptions of one long run within about two thirds of the budget.</summary>
    public static ChaosProfile Full { get; } = new("full", Interruptions: 105, InterruptionEpochs: 20, InterruptionShare: 0.78, FaultRuns: 2, FaultRate: 0.25, S3Restarts: 2, FuzzCases: 48);

    /// <summary>The `make test` subset: a few of each kind.</summary>
    public static ChaosProfile Subset { get; } = new("subset", Interruptions: 4, InterruptionEpochs: 2, InterruptionShare: 0.6, FaultRuns: 1, FaultRate: 0.2, S3Restarts: 1, FuzzCases: 4);
}
