using System.Globalization;
using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using k8s.Models;

namespace K8sTraining.Operator.Pods;

/// <summary>
/// The checkpoint-sync native sidecar (spec.checkpoint.sync sidecar): an init container with restartPolicy Always that
/// restores the newest committed checkpoint into the shared checkpoint directory before the trainer starts (its startup
/// probe waits for the ready file), uploads every complete step directory the trainer renames into place, serves the
/// committed position on its own /metrics, and flushes on SIGTERM, which the kubelet sends once the trainer has exited.
/// It alone gets the checkpoint URI and the store's credentials.
/// </summary>
public static class CheckpointSyncSidecar
{
    /// <summary>The image when the operator is given no --checkpoint-sync-image.</summary>
    public const string DefaultImage = "ghcr.io/k8straining/checkpoint-sync:0.1.0";

    /// <summary>
    /// Startup probe failures allowed at one probe a second: an hour for the restore (a large checkpoint over a slow
    /// link) before the kubelet restarts the sidecar.
    /// </summary>
    public const int StartupFailureThreshold = 3600;

    /// <summary>True when the pod of <paramref name="spec"/> gets the sidecar.</summary>
    public static bool IsUsed(TrainingJobSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return spec.EffectiveCheckpointSync == CheckpointSyncModes.Sidecar && !string.IsNullOrEmpty(spec.Checkpoint?.Uri);
    }

    /// <summary>Where the sidecar's startup probe looks: the ready file in the checkpoint directory.</summary>
    public static string ReadyFile => $"{WellKnown.CheckpointDirectory}/{CheckpointSyncContract.ReadyFileName}";

    public static V1Container Build(TrainingJob job, int attempt, PodSettings settings)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(settings);
        var spec = job.Spec;
        var c = spec.Checkpoint!;
        return new V1Container
        {
            Name = CheckpointSyncContract.ContainerName,
            Image = settings.CheckpointSyncImage,
            RestartPolicy = TrainerPodBuilder.NativeSidecarRestartPolicy,
            Env = Environment(job, attempt),
            // The credentials by reference only: the Secret's values never appear in the pod spec.
            EnvFrom = string.IsNullOrEmpty(c.SecretName)
                ? null
                : [new V1EnvFromSource { SecretRef = new V1SecretEnvSource { Name = c.SecretName } }],
            Ports = [new V1ContainerPort { Name = WellKnown.SyncMetricsPortName, ContainerPort = CheckpointSyncContract.DefaultMetricsPort, Protocol = "TCP" }],
            StartupProbe = new V1Probe
            {
                Exec = new V1ExecAction { Command = ["test", "-f", ReadyFile] },
                PeriodSeconds = 1,
                FailureThreshold = StartupFailureThreshold,
            },
            SecurityContext = TrainerPodBuilder.DefaultContainerSecurityContext(),
            VolumeMounts = [new V1VolumeMount { Name = TrainerPodBuilder.CheckpointVolume, MountPath = WellKnown.CheckpointDirectory }],
            TerminationMessagePath = WellKnown.TerminationLog,
            TerminationMessagePolicy = "FallbackToLogsOnError",
        };
    }

    private static List<V1EnvVar> Environment(TrainingJob job, int attempt)
    {
        var spec = job.Spec;
        var c = spec.Checkpoint!;
        var env = new List<V1EnvVar>();
        void Add(string name, object? value)
        {
            if (value is not null)
            {
                env.Add(new V1EnvVar { Name = name, Value = Convert.ToString(value, CultureInfo.InvariantCulture) });
            }
        }

        Add(TrainerEnvironment.CheckpointDirectory, WellKnown.CheckpointDirectory);
        Add(TrainerEnvironment.CheckpointUri, c.Uri);
        Add(TrainerEnvironment.KeepCheckpoints, c.Keep);
        Add(TrainerEnvironment.JobName, job.Metadata.Name);
        Add(TrainerEnvironment.JobNamespace, job.Metadata.NamespaceProperty);
        Add(TrainerEnvironment.JobUid, string.IsNullOrEmpty(job.Metadata.Uid) ? null : job.Metadata.Uid);
        Add(TrainerEnvironment.Attempt, attempt);
        Add(TrainerEnvironment.CheckpointAdopt, c.Adopt == true ? "true" : null);
        Add(TrainerEnvironment.TerminationLog, WellKnown.TerminationLog);
        Add(TrainerEnvironment.ShutdownTimeoutSeconds, Math.Max(1, spec.EffectiveGracePeriodSeconds - TrainerPodBuilder.ShutdownMarginSeconds));
        Add(TrainerEnvironment.MetricsPort, CheckpointSyncContract.DefaultMetricsPort);
        return env;
    }
}
