namespace K8sTraining.Training.Checkpoints;

/// <summary>
/// The complete training state at one instant, serialised into memory on the training thread (fast), so the slow part,
/// writing and fsyncing files, can run in the background while training goes on.
/// </summary>
public sealed record CheckpointSnapshot(long GlobalStep, int Epoch, int StepInEpoch, IReadOnlyList<(string Name, byte[] Content)> Files)
{
    public long TotalBytes => Files.Sum(f => (long)f.Content.Length);
}
