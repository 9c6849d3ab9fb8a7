using K8sTraining.NodeAgent.Status;
using k8s.Models;

namespace K8sTraining.LocalCluster.Tests.NodeAgent;

[Trait("Category", "Unit")]
public sealed class PodStatusBuilderTests
{
    private static readonly DateTime Start = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private static ContainerSnapshot Running() => new("c", "busybox", "local://x", "local://1", 0, new V1ContainerStateRunning { StartedAt = Start }, null, null, null);

    private static ContainerSnapshot Exited(int code) =>
        new("c", "busybox", "local://x", "local://1", 0, null, new V1ContainerStateTerminated { ExitCode = code, Reason = "Error", Message = "{\"status\":\"preempted\"}" }, null, null);

    [Fact]
    public void Build_Should_KeepDisruptionTarget_When_EvictionSetIt()
    {
        var current = new V1PodStatus
        {
            Phase = "Running",
            Conditions = [new V1PodCondition { Type = "DisruptionTarget", Status = "True", Reason = "EvictionByEvictionAPI", LastTransitionTime = Start }],
        };

        var status = PodStatusBuilder.Build(current, [Exited(75)], "Failed", Start, "127.0.0.1", "127.0.0.1", Start.AddMinutes(1));

        var disruption = Assert.Single(status.Conditions, c => c.Type == "DisruptionTarget");
        Assert.Equal("EvictionByEvictionAPI", disruption.Reason);
        Assert.Equal(75, status.ContainerStatuses[0].State.Terminated.ExitCode);
        Assert.Equal("{\"status\":\"preempted\"}", status.ContainerStatuses[0].State.Terminated.Message);
    }

    [Fact]
    public void Build_Should_MarkReadyAndKeepTransitionTime_When_StatusDoesNotChange()
    {
        var first = PodStatusBuilder.Build(null, [Running()], "Running", Start, "127.0.0.1", "127.0.0.1", Start);
        var second = PodStatusBuilder.Build(first, [Running()], "Running", Start, "127.0.0.1", "127.0.0.1", Start.AddMinutes(5));

        var ready = Assert.Single(second.Conditions, c => c.Type == "Ready");
        Assert.Equal("True", ready.Status);
        Assert.Equal(Start, ready.LastTransitionTime);
        Assert.True(PodStatusBuilder.SameAs(first, second));
        Assert.Equal("127.0.0.1", second.PodIP);
        Assert.Contains(second.Conditions, c => c.Type == "PodScheduled" && c.Status == "True");
    }

    [Fact]
    public void Build_Should_ReportNotReadyPodFailed_When_PodFailed()
    {
        var running = PodStatusBuilder.Build(null, [Running()], "Running", Start, "127.0.0.1", "127.0.0.1", Start);
        var failed = PodStatusBuilder.Build(running, [Exited(3)], "Failed", Start, "127.0.0.1", "127.0.0.1", Start.AddMinutes(1));

        var ready = Assert.Single(failed.Conditions, c => c.Type == "Ready");
        Assert.Equal("False", ready.Status);
        Assert.Equal("PodFailed", ready.Reason);
        Assert.Equal(Start.AddMinutes(1), ready.LastTransitionTime);
        Assert.Equal("Failed", failed.Phase);
    }
}
