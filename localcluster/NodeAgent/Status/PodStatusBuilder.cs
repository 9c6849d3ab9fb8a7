using k8s;
using k8s.Models;

namespace K8sTraining.NodeAgent.Status;

/// <summary>
/// Merges what the node knows into a pod's status the way the kubelet's status manager does: it owns the phase, IPs,
/// start time, container statuses and its own conditions, and keeps everything else (DisruptionTarget set by the
/// eviction API, conditions of other controllers, reason/message).
/// </summary>
public static class PodStatusBuilder
{
    public const string PodScheduled = "PodScheduled";
    public const string PodReadyToStartContainers = "PodReadyToStartContainers";
    public const string Initialized = "Initialized";
    public const string ContainersReady = "ContainersReady";
    public const string Ready = "Ready";

    public static V1PodStatus Build(
        V1PodStatus? current,
        IReadOnlyList<ContainerSnapshot> containers,
        string phase,
        DateTime startTime,
        string hostIP,
        string podIP,
        DateTime now,
        IReadOnlyList<ContainerSnapshot>? initContainers = null)
    {
        initContainers ??= [];
        var status = current is null ? new V1PodStatus() : KubernetesJson.Deserialize<V1PodStatus>(KubernetesJson.Serialize(current));
        status.Phase = phase;
        status.HostIP = hostIP;
        status.HostIPs = [new V1HostIP { Ip = hostIP }];
        status.PodIP = podIP;
        status.PodIPs = [new V1PodIP { Ip = podIP }];
        status.StartTime ??= startTime;
        status.ContainerStatuses = containers.Select(c => c.ToStatus()).ToList();
        if (initContainers.Count > 0)
        {
            status.InitContainerStatuses = initContainers.Select(c => c.ToStatus()).ToList();
        }

        var terminal = PodPhases.IsTerminal(phase);
        // Sidecars count for readiness as the main containers do; init containers that ran to completion do not.
        var unready = containers.Concat(initContainers.Where(c => c.Kind == ContainerKind.Sidecar))
            .Where(c => !c.Ready).Select(c => c.Name).ToArray();
        // Initialized: every init container completed and every sidecar started; once true it stays so (the kubelet's
        // condition does not fall back when a sidecar restarts, or stops with the pod).
        var incomplete = initContainers.Where(c => c.Kind == ContainerKind.Init ? c.Terminated?.ExitCode != 0 : c.Terminated is null && c.LastTerminated is null && !c.Started)
            .Select(c => c.Name).ToArray();
        var wasInitialized = status.Conditions?.Any(c => c.Type == Initialized && c.Status == "True") == true;
        var (readyStatus, readyReason, readyMessage) = terminal
            ? ("False", phase == PodPhases.Succeeded ? "PodCompleted" : "PodFailed", (string?)null)
            : unready.Length == 0
                ? ("True", (string?)null, (string?)null)
                : ("False", "ContainersNotReady", $"containers with unready status: [{string.Join(' ', unready)}]");

        var conditions = status.Conditions?.ToList() ?? [];
        if (!conditions.Any(c => c.Type == PodScheduled))
        {
            Set(conditions, PodScheduled, "True", null, null, now);
        }

        Set(conditions, PodReadyToStartContainers, terminal ? "False" : "True", null, null, now);
        if (incomplete.Length == 0 || wasInitialized)
        {
            Set(conditions, Initialized, "True", null, null, now);
        }
        else
        {
            Set(conditions, Initialized, "False", "ContainersNotInitialized", $"containers with incomplete status: [{string.Join(' ', incomplete)}]", now);
        }

        Set(conditions, ContainersReady, readyStatus, readyReason, readyMessage, now);
        Set(conditions, Ready, readyStatus, readyReason, readyMessage, now);
        status.Conditions = conditions;
        return status;
    }

    /// <summary>True when two statuses serialise the same, so that an unchanged status is not written.</summary>
    public static bool SameAs(V1PodStatus? left, V1PodStatus? right) =>
        KubernetesJson.Serialize(left) == KubernetesJson.Serialize(right);

    private static void Set(List<V1PodCondition> conditions, string type, string status, string? reason, string? message, DateTime now)
    {
        var index = conditions.FindIndex(c => c.Type == type);
        var previous = index >= 0 ? conditions[index] : null;
        var condition = new V1PodCondition
        {
            Type = type,
            Status = status,
            Reason = reason,
            Message = message,
            LastProbeTime = previous?.LastProbeTime,
            LastTransitionTime = previous is not null && previous.Status == status ? previous.LastTransitionTime : now,
        };
        if (index >= 0)
        {
            conditions[index] = condition;
        }
        else
        {
            conditions.Add(condition);
        }
    }
}
