using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using k8s.Models;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>Pure classification of trainer pods: alive or ended, and if ended, preemption, success or failure.</summary>
public static class PodClassifier
{
    /// <summary>DisruptionTarget reasons that mean "taken away from us", not "broke".</summary>
    public static readonly IReadOnlySet<string> PreemptionReasons = new HashSet<string>(StringComparer.Ordinal)
    {
        "PreemptionByScheduler",
        "PreemptionByKubeScheduler",
        "EvictionByEvictionAPI",
        "DeletionByTaintManager",
        "DeletionByPodGC",
        "TerminationByKubelet",
        "NodeLost",
    };

    /// <summary>The container reason a kubelet reports for a container it can no longer locate (after a node reboot).</summary>
    public const string ContainerStatusUnknown = "ContainerStatusUnknown";

    public static int? AttemptOf(V1Pod pod)
    {
        var labels = pod.Metadata?.Labels;
        return labels is not null && labels.TryGetValue(WellKnown.AttemptLabel, out var value) && int.TryParse(value, out var attempt)
            ? attempt
            : null;
    }

    public static V1ContainerStatus? TrainerStatus(V1Pod pod) =>
        pod.Status?.ContainerStatuses?.FirstOrDefault(c => c.Name == WellKnown.TrainerContainer)
        ?? pod.Status?.ContainerStatuses?.FirstOrDefault();

    /// <summary>
    /// Alive, stopping or ended. A pod has ended only when it is terminal (phase Succeeded/Failed) or every container
    /// in it, native sidecars included, has stopped: a trainer that exited while a sidecar still runs (a checkpoint-sync
    /// sidecar flushing its last upload) leaves the attempt open, so no replacement resumes, or writes the checkpoint
    /// store, beside it.
    /// </summary>
    public static PodState StateOf(V1Pod pod)
    {
        var phase = pod.Status?.Phase;
        var container = TrainerStatus(pod);
        if (phase is "Succeeded" or "Failed")
        {
            return PodState.Ended;
        }

        var othersRunning = OtherContainersRunning(pod);
        if (container?.State?.Terminated is not null)
        {
            return !othersRunning ? PodState.Ended
                : pod.Metadata?.DeletionTimestamp is not null ? PodState.Terminating
                : PodState.Finishing;
        }

        if (pod.Metadata?.DeletionTimestamp is not null)
        {
            // A pod deleted before any of its containers ever started has nothing to shut down.
            return container?.State?.Running is null && !othersRunning && phase is null or "Pending" ? PodState.Ended : PodState.Terminating;
        }

        return phase == "Running" ? PodState.Running : PodState.Pending;
    }

    /// <summary>Whether a container other than the trainer (a native sidecar, another container) still runs.</summary>
    public static bool OtherContainersRunning(V1Pod pod)
    {
        var trainer = TrainerStatus(pod);
        return (pod.Status?.InitContainerStatuses ?? []).Any(c => c.State?.Running is not null)
            || (pod.Status?.ContainerStatuses ?? []).Any(c => !ReferenceEquals(c, trainer) && c.State?.Running is not null);
    }

    /// <summary>Classifies an ended pod. Exit 0 wins (the run finished); any sign of disruption is a preemption.</summary>
    public static PodOutcome Classify(V1Pod pod) => ClassifyTrainer(pod) with { SyncTermination = SyncTermination(pod) };

    /// <summary>The checkpoint-sync sidecar's termination message: what it committed last (null without the sidecar, or before it stopped).</summary>
    public static TerminationMessage? SyncTermination(V1Pod pod)
    {
        var sidecar = pod.Status?.InitContainerStatuses?.FirstOrDefault(c => c.Name == CheckpointSyncContract.ContainerName);
        var terminated = sidecar?.State?.Terminated ?? sidecar?.LastState?.Terminated;
        return TerminationMessage.TryParse(terminated?.Message);
    }

    private static PodOutcome ClassifyTrainer(V1Pod pod)
    {
        var terminated = TrainerStatus(pod)?.State?.Terminated;
        var exitCode = terminated?.ExitCode;
        var termination = TerminationMessage.TryParse(terminated?.Message);
        var disruption = pod.Status?.Conditions?.FirstOrDefault(c => c.Type == WellKnown.DisruptionTarget && c.Status == "True");
        var name = pod.Metadata?.Name ?? "?";

        if (exitCode == TrainerExitCodes.Completed)
        {
            return new PodOutcome(AttemptOutcomes.Succeeded, ConditionReasons.Completed, exitCode, $"pod {name} completed", termination);
        }

        if (disruption is not null && (disruption.Reason is null || PreemptionReasons.Contains(disruption.Reason)))
        {
            var reason = disruption.Reason ?? WellKnown.DisruptionTarget;
            return new PodOutcome(AttemptOutcomes.Preempted, reason, exitCode, $"pod {name} disrupted ({reason}){ExitText(exitCode)}", termination);
        }

        if (exitCode == TrainerExitCodes.Superseded || termination?.Reason == TerminationReasons.Superseded)
        {
            // Fenced off: a newer attempt committed a checkpoint, so this stale one stopped without uploading.
            var detail = termination?.Message is { Length: > 0 } m ? ": " + Trim(m) : "";
            return new PodOutcome(AttemptOutcomes.Preempted, TerminationReasons.Superseded, exitCode, $"trainer in pod {name} found a newer attempt's checkpoint and stopped (exit {TrainerExitCodes.Superseded}, superseded){detail}", termination);
        }

        if (exitCode == TrainerExitCodes.Interrupted && termination?.Reason == TerminationReasons.DeadlineExceeded)
        {
            // The trainer stopped itself at its deadline, with a checkpoint: the job's time is up, not a preemption.
            var detail = termination.Message is { Length: > 0 } m ? ": " + Trim(m) : "";
            return new PodOutcome(AttemptOutcomes.DeadlineExceeded, TerminationReasons.DeadlineExceeded, exitCode, $"trainer in pod {name} checkpointed and stopped at its deadline (exit {TrainerExitCodes.Interrupted}){detail}", termination);
        }

        if (exitCode == TrainerExitCodes.Interrupted)
        {
            return new PodOutcome(AttemptOutcomes.Preempted, "ExitCode75", exitCode, $"trainer in pod {name} was interrupted and checkpointed (exit {TrainerExitCodes.Interrupted})", termination);
        }

        if (pod.Metadata?.DeletionTimestamp is not null)
        {
            return new PodOutcome(AttemptOutcomes.Preempted, "PodDeleted", exitCode, $"pod {name} was deleted while running{ExitText(exitCode)}", termination);
        }

        if (pod.Status?.Reason is "Evicted" or "Shutdown" or "Terminated" or "NodeShutdown" or "NodeLost")
        {
            return new PodOutcome(AttemptOutcomes.Preempted, pod.Status.Reason, exitCode, $"pod {name} was stopped by the node ({pod.Status.Reason}){ExitText(exitCode)}", termination);
        }

        if (terminated?.Reason == ContainerStatusUnknown)
        {
            // The node could not find the container any more (it rebooted, or its runtime lost the container): the trainer
            // was taken away with its node, it did not fail, so it is not charged to the job's restarts.
            return new PodOutcome(AttemptOutcomes.Preempted, ContainerStatusUnknown, exitCode, $"the trainer of pod {name} was lost with its node's containers ({ContainerStatusUnknown}){ExitText(exitCode)}", termination);
        }

        if (exitCode == TrainerExitCodes.StorageUnavailable)
        {
            var detail = termination?.Message ?? terminated?.Message ?? "the checkpoint store could not be reached";
            return new PodOutcome(AttemptOutcomes.StorageUnavailable, TerminationReasons.StorageUnavailable, exitCode, $"trainer in pod {name} could not reach the checkpoint store (exit {TrainerExitCodes.StorageUnavailable}): {Trim(detail)}", termination);
        }

        if (exitCode == TrainerExitCodes.InvalidConfiguration && termination?.Reason == TerminationReasons.CheckpointPrefixInUse)
        {
            // Kept whole: it names the prefix, its owner and how to go on.
            var detail = termination.Message ?? "the checkpoint prefix belongs to another job";
            return new PodOutcome(AttemptOutcomes.ConfigurationError, ConditionReasons.CheckpointPrefixInUse, exitCode, detail.Trim(), termination);
        }

        if (exitCode == TrainerExitCodes.InvalidConfiguration)
        {
            var detail = termination?.Message ?? terminated?.Message ?? "invalid arguments or configuration";
            return new PodOutcome(AttemptOutcomes.ConfigurationError, ConditionReasons.ConfigurationError, exitCode, $"trainer rejected its configuration (exit {TrainerExitCodes.InvalidConfiguration}): {Trim(detail)}", termination);
        }

        var why = terminated?.Reason is { Length: > 0 } r ? r : "Error";
        var text = termination?.Message ?? terminated?.Message ?? pod.Status?.Message;
        return new PodOutcome(AttemptOutcomes.Failed, why, exitCode, $"pod {name} failed ({why}{ExitText(exitCode, ", ")}){(text is null ? "" : ": " + Trim(text))}", termination);
    }

    private static string ExitText(int? exitCode, string prefix = ", ") => exitCode is null ? "" : $"{prefix}exit {exitCode}";

    private static string Trim(string text)
    {
        text = text.Trim();
        return text.Length <= 300 ? text : text[^300..];
    }
}
