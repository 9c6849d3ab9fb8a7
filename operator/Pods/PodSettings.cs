namespace K8sTraining.Operator.Pods;

/// <summary>The operator's own settings for the pods it builds (its command line), as opposed to the job's spec.</summary>
/// <param name="CheckpointSyncImage">The checkpoint-sync sidecar's image (--checkpoint-sync-image).</param>
public sealed record PodSettings(string CheckpointSyncImage = CheckpointSyncSidecar.DefaultImage)
{
    public static PodSettings Default { get; } = new();
}
