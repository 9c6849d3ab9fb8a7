using K8sTraining.NodeAgent.Status;
using k8s.Models;

namespace K8sTraining.LocalCluster.Tests.NodeAgent;

[Trait("Category", "Unit")]
public sealed class PodPhasesTests
{
    private static ContainerSnapshot Running() => new("c", "i", "i", "id", 0, new V1ContainerStateRunning(), null, null, null);

    private static ContainerSnapshot Exited(int code) => new("c", "i", "i", "id", 0, null, new V1ContainerStateTerminated { ExitCode = code }, null, null);

    private static ContainerSnapshot Creating() => new("c", "i", "i", null, 0, null, null, new V1ContainerStateWaiting { Reason = "ContainerCreating" }, null);

    private static ContainerSnapshot BackingOff() =>
        new("c", "i", "i", "id", 1, null, null, new V1ContainerStateWaiting { Reason = "CrashLoopBackOff" }, new V1ContainerStateTerminated { ExitCode = 1 });

    public static TheoryData<string, string, ContainerSnapshot[], bool, string> Cases => new()
    {
        { "creating is pending", "Never", [Creating()], false, "Pending" },
        { "running", "Never", [Running()], false, "Running" },
        { "one running one done", "Never", [Running(), Exited(0)], false, "Running" },
        { "never: exit 0 succeeds", "Never", [Exited(0)], false, "Succeeded" },
        { "never: exit 3 fails", "Never", [Exited(3)], false, "Failed" },
        { "never: one of two failed", "Never", [Exited(0), Exited(1)], false, "Failed" },
        { "onfailure: exit 0 succeeds", "OnFailure", [Exited(0)], false, "Succeeded" },
        { "onfailure: backing off stays running", "OnFailure", [BackingOff()], false, "Running" },
        { "always: backing off stays running", "Always", [BackingOff()], false, "Running" },
        { "always: deleted after exit 0 succeeds", "Always", [Exited(0)], true, "Succeeded" },
        { "always: deleted with 143 fails", "Always", [Exited(143)], true, "Failed" },
        { "never: preempted with 75 fails", "Never", [Exited(75)], true, "Failed" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Compute_Should_FollowKubeletPhaseRules_When_GivenCase(string name, string restartPolicy, ContainerSnapshot[] containers, bool terminating, string expected)
    {
        var phase = PodPhases.Compute(restartPolicy, containers, terminating);

        Assert.True(expected == phase, $"{name}: expected {expected}, got {phase}");
    }
}
