using k8s.Models;

namespace K8sTraining.NodeAgent.Status;

/// <summary>
/// What the node knows about one container at a moment: exactly one of Running, Terminated, Waiting is set.
/// <paramref name="StartupDone"/> is false while a running container's startup probe has not passed yet.
/// </summary>
public sealed record ContainerSnapshot(
    string Name,
    string Image,
    string ImageId,
    string? ContainerId,
    int RestartCount,
    V1ContainerStateRunning? Running,
    V1ContainerStateTerminated? Terminated,
    V1ContainerStateWaiting? Waiting,
    V1ContainerStateTerminated? LastTerminated,
    ContainerKind Kind = ContainerKind.Main,
    bool StartupDone = true)
{
    /// <summary>Running and past its startup probe (the kubelet's <c>started</c>).</summary>
    public bool Started => Running is not null && StartupDone;

    /// <summary>Without readiness probes: a started container is ready; an init container once it completed.</summary>
    public bool Ready => Kind == ContainerKind.Init ? Terminated?.ExitCode == 0 : Started;

    public V1ContainerStatus ToStatus() => new()
    {
        Name = Name,
        Image = Image,
        ImageID = ImageId,
        ContainerID = ContainerId,
        RestartCount = RestartCount,
        Ready = Ready,
        Started = Started,
        State = new V1ContainerState { Running = Running, Terminated = Terminated, Waiting = Waiting },
        LastState = LastTerminated is null ? new V1ContainerState() : new V1ContainerState { Terminated = LastTerminated },
    };
}
