using K8sTraining.NodeAgent.Images;
using K8sTraining.NodeAgent.Processes;
using K8sTraining.NodeAgent.Status;
using k8s.Models;

namespace K8sTraining.NodeAgent.Pods;

/// <summary>One container of a pod as the node runs it: its current process, its last termination, its back-off.</summary>
internal sealed class ContainerSlot(V1Container spec, ContainerKind kind = ContainerKind.Main)
{
    public V1Container Spec { get; } = spec;

    public ContainerKind Kind { get; } = kind;

    /// <summary>
    /// The local file whose existence is the container's startup probe (the one probe form the agent reproduces:
    /// <c>exec: ["test", "-f", PATH]</c>); null when it has none (then it counts as started once running).
    /// </summary>
    public string? StartupFile { get; set; }

    /// <summary>The current run passed its startup probe (or has none).</summary>
    public bool StartupDone { get; set; }

    /// <summary>Some run has passed its startup probe: a sidecar that did no longer holds back the containers after it.</summary>
    public bool EverStartedUp { get; set; }

    public ImageDefinition? Image { get; set; }

    public ProcessGroup? Process { get; set; }

    public string? ContainerId { get; set; }

    public DateTime? StartedAt { get; set; }

    public int RestartCount { get; set; }

    public bool EverStarted { get; set; }

    public V1ContainerStateTerminated? Terminated { get; set; }

    public V1ContainerStateTerminated? LastTerminated { get; set; }

    public V1ContainerStateWaiting? Waiting { get; set; }

    /// <summary>When the container may be (re)started next; null when now.</summary>
    public DateTime? NextStartAt { get; set; }

    public TimeSpan Backoff { get; set; }

    public bool WantsStart(DateTime now) => Process is null && Terminated is null && (NextStartAt is null || NextStartAt <= now);

    public ContainerSnapshot Snapshot() => new(
        Spec.Name,
        Spec.Image,
        Image is null ? string.Empty : $"local://{Image.Image}",
        ContainerId,
        RestartCount,
        Process is not null ? new V1ContainerStateRunning { StartedAt = StartedAt } : null,
        Process is null ? Terminated : null,
        Process is null && Terminated is null ? Waiting ?? new V1ContainerStateWaiting { Reason = "ContainerCreating" } : null,
        LastTerminated,
        Kind,
        Process is null || StartupDone);
}
