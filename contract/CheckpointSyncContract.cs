namespace K8sTraining.Contract;

/// <summary>
/// The checkpoint-sync sidecar (checkpointsync/): a native sidecar that restores the newest committed checkpoint into
/// the shared checkpoint directory before the trainer starts, uploads every complete <c>step-NNNNNNNNNNNN</c> directory
/// the trainer renames into place, and flushes on SIGTERM. It reads the same TRAINER_* variables as a trainer
/// (<see cref="TrainerEnvironment"/>) and writes a <see cref="TerminationMessage"/> with a null status.
/// </summary>
public static class CheckpointSyncContract
{
    /// <summary>The sidecar's container name in the trainer pod (an init container with restartPolicy Always).</summary>
    public const string ContainerName = "checkpoint-sync";

    /// <summary>The sidecar's /metrics port (its TRAINER_METRICS_PORT), beside the trainer's 9464.</summary>
    public const int DefaultMetricsPort = 9465;

    /// <summary>
    /// Created in the checkpoint directory once the restore is done (or found nothing to restore): the sidecar's startup
    /// probe (<c>test -f</c>) waits for it, so the trainer starts only after the restore.
    /// </summary>
    public const string ReadyFileName = ".checkpoint-sync-ready";
}
