using K8sTraining.Operator.Api;
using K8sTraining.Operator.Pods;
using k8s.Models;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>
/// A live edit: the spec of a job with a live attempt changed a setting a resume may take (batch size, epochs, samples,
/// stages, learning rate, schedule, optimizer hyper-parameters). The operator deletes the pod gracefully (the trainer
/// checkpoints on SIGTERM and exits 75) and starts the next attempt from the new spec; the stopped attempt counts as
/// neither a failure nor a preemption. Condition Reconfiguring and Event Reconfiguring say so.
/// </summary>
public static class Reconfiguration
{
    /// <summary>
    /// The live-editable TRAINER_* variables whose value in <paramref name="pod"/> differs from what the job's spec gives
    /// now; empty when the pod runs the current spec.
    /// </summary>
    public static IReadOnlyList<string> Changed(TrainingJob job, V1Pod pod)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(pod);
        var container = pod.Spec?.Containers?.FirstOrDefault(c => c.Name == WellKnown.TrainerContainer);
        if (container is null)
        {
            return [];
        }

        var running = Values(container.Env);
        var wanted = Values(TrainerPodBuilder.EnvironmentOf(job, PodClassifier.AttemptOf(pod) ?? 0));
        return [.. TrainerPodBuilder.LiveEditable.Where(name => running.GetValueOrDefault(name) != wanted.GetValueOrDefault(name))];
    }

    /// <summary>
    /// Starts a graceful reconfiguration when the live attempt runs an older generation's spec that differs in a
    /// live-editable setting; true when the attempt is being stopped for it (nothing else is to be done now).
    /// </summary>
    internal static bool Reconfigure(this DecisionDraft d, V1Pod current, PodState state)
    {
        if (state is not (PodState.Pending or PodState.Running)
            || d.Status.CurrentAttempt is not { } attempt || attempt.Attempt != d.Status.Attempt
            || attempt.ObservedGeneration is not { } built || d.Generation is not { } generation || generation <= built)
        {
            return false;
        }

        var changed = Changed(d.Job, current);
        if (changed.Count == 0)
        {
            return false;
        }

        var name = current.Metadata.Name;
        var message = $"the spec changed ({string.Join(", ", changed)}, generation {generation}): stopping attempt {d.Status.Attempt} gracefully so its trainer checkpoints, then the next attempt runs the new spec";
        d.Actions.Add(new DeletePod(name, "reconfiguring for a live edit of the spec"));
        if (!Conditions.IsTrue(d.Status.Conditions, ConditionTypes.Reconfiguring))
        {
            d.Events.Add(JobEvent.Normal(EventReasons.Reconfiguring, $"Reconfiguring: {message}; not counted as a failure or a preemption"));
        }

        Conditions.Set(d.ConditionList, ConditionTypes.Reconfiguring, true, ConditionReasons.Reconfiguring, message, d.Generation, d.Now);
        return true;
    }

    /// <summary>Whether the ended attempt was stopped for a live edit (Reconfiguring is True).</summary>
    internal static bool InProgress(this DecisionDraft d) => Conditions.IsTrue(d.Status.Conditions, ConditionTypes.Reconfiguring);

    /// <summary>The attempt with the new spec was created: Reconfiguring turns False.</summary>
    internal static void Reconfigured(this DecisionDraft d, string pod)
    {
        if (d.InProgress())
        {
            Conditions.Set(d.ConditionList, ConditionTypes.Reconfiguring, false, ConditionReasons.Reconfigured, $"attempt {d.Status.Attempt} (pod {pod}) runs the spec of generation {d.Generation}", d.Generation, d.Now);
        }
    }

    private static Dictionary<string, string?> Values(IEnumerable<V1EnvVar>? env)
    {
        var values = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var e in env ?? [])
        {
            values[e.Name] = e.Value;
        }

        return values;
    }
}
