namespace K8sTraining.Chaos.Runner;

/// <summary>How much of each scenario a run does: the full suite (`make chaos`) or the seeded subset of `make test`.</summary>
public sealed record ChaosProfile(
    string Name,
    int Interruptions,
    int InterruptionEpochs,
    double InterruptionShare,
    double TrainerShare,
    int FaultRuns,
    double FaultRate,
    int S3Restarts,
    int FuzzCases,
    int FuzzMinimum)
{
    /// <summary>
    /// `make chaos`: >= 100 interruptions of one long run within 40% of the budget, the trainer's and storage's
    /// scenarios within 49%; the cluster scenarios take the rest, each its own slice (<see cref="ChaosContext.SliceDeadline"/>).
    /// The trainer's input fuzz runs FuzzCases while the trainer's share lasts, and at least FuzzMinimum (about 2.5 s
    /// each) however little of it the rows before left.
    /// </summary>
    public static ChaosProfile Full { get; } = new("full", Interruptions: 105, InterruptionEpochs: 20, InterruptionShare: 0.40, TrainerShare: 0.49, FaultRuns: 2, FaultRate: 0.25, S3Restarts: 2, FuzzCases: 48, FuzzMinimum: 24);

    /// <summary>The `make test` subset: a few of each kind.</summary>
    public static ChaosProfile Subset { get; } = new("subset", Interruptions: 4, InterruptionEpochs: 2, InterruptionShare: 0.6, TrainerShare: 0.97, FaultRuns: 1, FaultRate: 0.2, S3Restarts: 1, FuzzCases: 4, FuzzMinimum: 4);
}
