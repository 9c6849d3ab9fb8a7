namespace K8sTraining.Contract;

/// <summary>
/// Values of <c>spec.checkpoint.sync</c>: which container keeps the checkpoints in the remote store. Absent means
/// <see cref="Trainer"/> for the built-in trainer (spec.training set), <see cref="Sidecar"/> for any other image with a
/// checkpoint URI, <see cref="None"/> without one.
/// </summary>
public static class CheckpointSyncModes
{
    /// <summary>The checkpoint-sync sidecar restores and uploads; the trainer only writes local step directories.</summary>
    public const string Sidecar = "sidecar";

    /// <summary>The trainer syncs itself (the built-in trainer, or one built on the training library).</summary>
    public const string Trainer = "trainer";

    /// <summary>Checkpoints stay on the pod's local volume.</summary>
    public const string None = "none";
}
