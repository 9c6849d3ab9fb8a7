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

    private static ContainerSnapshot As(ContainerSnapshot c, ContainerKind kind, bool startupDone = true) => c with { Kind = kind, StartupDone = startupDone };

    public static TheoryData<string, string, ContainerSnapshot[], ContainerSnapshot[], bool, string> InitCases => new()
    {
        { "init container running: pending", "Never", [As(Running(), ContainerKind.Init)], [Creating()], false, "Pending" },
        { "init container done, main running", "Never", [As(Exited(0), ContainerKind.Init)], [Running()], false, "Running" },
        { "init container failed under Never: failed", "Never", [As(Exited(3), ContainerKind.Init)], [Creating()], false, "Failed" },
        { "init container failed under OnFailure, backing off: pending", "OnFailure", [As(BackingOff(), ContainerKind.Init)], [Creating()], false, "Pending" },
        { "sidecar running, startup probe not passed: pending", "Never", [As(Running(), ContainerKind.Sidecar, startupDone: false)], [Creating()], false, "Pending" },
        { "sidecar not started yet: pending", "Never", [As(Creating(), ContainerKind.Sidecar)], [Creating()], false, "Pending" },
        { "sidecar and main running", "Never", [As(Running(), ContainerKind.Sidecar)], [Running()], false, "Running" },
        { "main exited 0, sidecar still running: running", "Never", [As(Running(), ContainerKind.Sidecar)], [Exited(0)], false, "Running" },
        { "main exited 0, sidecar stopped with 143: succeeded", "Never", [As(Exited(143), ContainerKind.Sidecar)], [Exited(0)], false, "Succeeded" },
        { "main exited 75, sidecar stopped: failed", "Never", [As(Exited(0), ContainerKind.Sidecar)], [Exited(75)], false, "Failed" },
        { "main running, sidecar restarting: running", "Never", [As(BackingOff(), ContainerKind.Sidecar)], [Running()], false, "Running" },
        { "deleted: main stopped, sidecar still flushing: running", "Never", [As(Running(), ContainerKind.Sidecar)], [Exited(143)], true, "Running" },
    };

    [Theory]
    [MemberData(nameof(InitCases))]
    public void Compute_Should_FollowKubeletPhaseRulesForInitContainersAndSidecars_When_GivenCase(string name, string restartPolicy, ContainerSnapshot[] init, ContainerSnapshot[] containers, bool terminating, string expected)
    {
        var phase = PodPhases.Compute(restartPolicy, init, containers, terminating);

        Assert.True(expected == phase, $"{name}: expected {expected}, got {phase}");
    }
}
