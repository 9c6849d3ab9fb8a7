using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Pods;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>
/// spec.checkpoint.sync: one of sidecar, trainer, none; sidecar and trainer need spec.checkpoint.uri (there is nothing to
/// sync to without one), none refuses one (it would be unused); and with the sidecar, nothing of the user's may take
/// its container name, its port or its port's name.
/// </summary>
internal static class CheckpointSyncValidator
{
    private const string Field = "spec.checkpoint.sync";

    internal static void Check(List<string> errors, TrainingJobSpec spec)
    {
        var sync = spec.Checkpoint?.Sync;
        var uri = spec.Checkpoint?.Uri;
        if (sync is not null && !CheckpointSyncValues.All.Contains(sync))
        {
            errors.Add($"{Field} must be one of {string.Join(", ", CheckpointSyncValues.All)}, not '{sync}'");
            return;
        }

        if (sync is CheckpointSyncModes.Sidecar or CheckpointSyncModes.Trainer && string.IsNullOrEmpty(uri))
        {
            errors.Add($"{Field} is {sync} but spec.checkpoint.uri is not set: there is no store to sync to; set spec.checkpoint.uri (s3://bucket/prefix), or set {Field} to {CheckpointSyncModes.None}");
        }
        else if (sync == CheckpointSyncModes.None && !string.IsNullOrEmpty(uri))
        {
            errors.Add($"{Field} is {CheckpointSyncModes.None} (checkpoints stay in the pod) but spec.checkpoint.uri is set and would be unused: remove the uri, or set {Field} to {CheckpointSyncModes.Sidecar} or {CheckpointSyncModes.Trainer}");
        }

        if (!CheckpointSyncSidecar.IsUsed(spec))
        {
            return;
        }

        var containers = (spec.InitContainers ?? []).Select((c, i) => (Field: $"spec.initContainers[{i}]", Container: c))
            .Concat((spec.Sidecars ?? []).Select((c, i) => (Field: $"spec.sidecars[{i}]", Container: c)));
        foreach (var (field, container) in containers)
        {
            if (container?.Name == CheckpointSyncContract.ContainerName)
            {
                errors.Add($"{field}.name '{container.Name}' is the operator's checkpoint-sync sidecar ({Field} {CheckpointSyncModes.Sidecar}); choose another name");
            }

            foreach (var (port, j) in (container?.Ports ?? []).Select((p, j) => (p, j)))
            {
                if (port?.Name == WellKnown.SyncMetricsPortName || port?.ContainerPort == CheckpointSyncContract.DefaultMetricsPort)
                {
                    errors.Add($"{field}.ports[{j}] takes the checkpoint-sync sidecar's metrics port ({WellKnown.SyncMetricsPortName}, {CheckpointSyncContract.DefaultMetricsPort}); use another port and name");
                }
            }
        }

        if (spec.EffectiveMetricsPort == CheckpointSyncContract.DefaultMetricsPort)
        {
            errors.Add($"spec.metricsPort {CheckpointSyncContract.DefaultMetricsPort} is the checkpoint-sync sidecar's metrics port ({Field} {CheckpointSyncModes.Sidecar}); choose another port");
        }
    }
}
