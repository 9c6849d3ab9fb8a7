using k8s.Models;

namespace K8sTraining.NodeAgent.Status;

/// <summary>What the node knows about one container at a moment: exactly one of Running, Terminated, Waiting is set.</summary>
public sealed record ContainerSnapshot(
    string Name,
    string Image,
    string ImageId,
    string? ContainerId,
    int RestartCount,
    V1ContainerStateRunning? Running,
    V1ContainerStateTerminated? Terminated,
    V1ContainerStateWaiting? Waiting,
    V1ContainerStateTerminated? LastTerminated)
{
    public bool Ready => Running is not null;

    public V1ContainerStatus ToStatus() => new()
    {
        Name = Name,
        Image = Image,
        ImageID = ImageId,
        ContainerID = ContainerId,
        RestartCount = RestartCount,
        Ready = Ready,
        Started = Running is not null,
        State = new V1ContainerState { Running = Running, Terminated = Terminated, Waiting = Waiting },
        LastState = LastTerminated is null ? new V1ContainerState() : new V1ContainerState { Terminated = LastTerminated },
    };
}
