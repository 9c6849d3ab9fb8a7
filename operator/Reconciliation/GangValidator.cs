using K8sTraining.Operator.Api;
using K8sTraining.Operator.Pods;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>The multi-worker fields: spec.workers, spec.processesPerWorker, spec.gang, and what they reserve in the pod.</summary>
public static class GangValidator
{
    public static void Check(List<string> errors, TrainingJobSpec spec)
    {
        ArgumentNullException.ThrowIfNull(errors);
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Workers is { } workers && workers < 1)
        {
            errors.Add($"spec.workers must be at least 1 (the number of worker pods that train together), not {workers}; use spec.suspend to stop the job");
        }

        if (spec.ProcessesPerWorker is { } perWorker && perWorker < 1)
        {
            errors.Add($"spec.processesPerWorker must be at least 1 (processes in each worker pod, one per GPU), not {perWorker}");
        }

        if (spec.Training is not null && spec.EffectiveProcessesPerWorker > 1)
        {
            // WORLD_SIZE would count processes that never start: the ranks would wait for them until the rendezvous timeout.
            errors.Add($"spec.processesPerWorker is {spec.EffectiveProcessesPerWorker}, but the built-in trainer (spec.training) runs one process per worker pod; scale with spec.workers, or set spec.processesPerWorker only for an image that starts its own processes (torchrun --nproc-per-node)");
        }

        if (spec.Gang?.StartTimeoutSeconds is { } timeout && timeout < 1)
        {
            errors.Add($"spec.gang.startTimeoutSeconds must be at least 1 (seconds for every worker to be Running), not {timeout}");
        }

        for (var i = 0; i < (spec.Env?.Count ?? 0); i++)
        {
            if (spec.Env![i]?.Name is { } name && WorkerEnvironment.Names.Contains(name, StringComparer.Ordinal))
            {
                errors.Add($"spec.env[{i}].name '{name}' is a distributed-training variable the operator sets on every worker; set spec.workers and spec.processesPerWorker instead");
            }
        }

        if (spec.EffectiveWorkers > 1)
        {
            foreach (var key in spec.PodMetadata?.Labels?.Keys ?? [])
            {
                if (PodGroupMetadata.Labels("job", 1).ContainsKey(key))
                {
                    errors.Add($"spec.podMetadata.labels['{key}'] is a pod-group label the operator sets on every worker of a multi-worker job; remove it from spec.podMetadata.labels");
                }
            }

            foreach (var key in spec.PodMetadata?.Annotations?.Keys ?? [])
            {
                if (key == WellKnown.WorkersAnnotation || PodGroupMetadata.Annotations("job", 2).ContainsKey(key))
                {
                    errors.Add($"spec.podMetadata.annotations['{key}'] is an annotation the operator sets on every worker of a multi-worker job; remove it from spec.podMetadata.annotations");
                }
            }
        }
    }
}
