namespace K8sTraining.Training.Checkpoints;

/// <summary>
/// The complete training state at one instant, serialised into memory on the training thread (fast), so the slow part,
/// writing and fsyncing files, can run in the background while training goes on.
/// </summary>
public sealed record CheckpointSnapshot(long GlobalStep, int Epoch, int StepInEpoch, IReadOnlyList<(string Name, byte[] Content)> Files)
{
    /// <summary>The best checkpoint as of this one (see <see cref="CheckpointManifest.Best"/>); null when none is kept.</summary>
    public K8sTraining.Contract.BestCheckpoint? Best { get; init; }

    public long TotalBytes => Files.Sum(f => (long)f.Content.Length);
}
