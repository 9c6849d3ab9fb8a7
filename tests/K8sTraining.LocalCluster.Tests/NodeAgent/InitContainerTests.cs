using k8s.Models;

namespace K8sTraining.LocalCluster.Tests.NodeAgent;

/// <summary>
/// Init containers and native sidecars (restartPolicy Always, KEP-753) on the local node agent, the kubelet's way: in
/// order, each to completion or started before the next; sidecars stopped after the main containers, in reverse order;
/// all reported in status.initContainerStatuses. Every container appends to one file in a shared directory ($WORK), so
/// the order is what the file says.
/// </summary>
[Trait("Category", "Integration")]
public sealed class InitContainerTests(NodeAgentFixture cluster) : IClassFixture<NodeAgentFixture>
{
    /// <summary>A sidecar that notes its start, and on SIGTERM notes its stop (after <paramref name="stopSeconds"/>), writes its termination message and exits 0.</summary>
    private static string Sidecar(string name, string stopSeconds = "0", string? readyFile = null) =>
        $"trap 'sleep {stopSeconds}; echo stop-{name} >> \"$WORK/order\"; printf \"flushed {name}\" > \"$MSG\"; exit 0' TERM; "
        + $"echo start-{name} >> \"$WORK/order\"; {(readyFile is null ? "" : $"touch \"$WORK/{readyFile}\"; ")}while true; do sleep 0.1; done";

    [Fact]
    public async Task Pod_Should_RunInitContainersInOrderBeforeTheMainContainer_When_TheyComplete()
    {
        var pod = await cluster.CreateAsync(Shared(PodBuilder.Shell("echo main >> \"$WORK/order\"; cat \"$WORK/order\" > \"$MSG\"")
            .WithInitContainer("first", "sleep 0.3; echo first >> \"$WORK/order\"")
            .WithInitContainer("second", "echo second >> \"$WORK/order\"")
            .Build()));

        var done = await cluster.WaitForAsync(pod, p => p.Status?.Phase is "Succeeded" or "Failed", "the pod to end");

        Assert.Equal("Succeeded", done.Status.Phase);
        Assert.Equal("first\nsecond\nmain\n", MainOf(done)!.State.Terminated.Message);
        Assert.Equal(["first", "second"], done.Status.InitContainerStatuses.Select(s => s.Name));
        Assert.All(done.Status.InitContainerStatuses, s => Assert.Equal((0, "Completed", true), (s.State.Terminated.ExitCode, s.State.Terminated.Reason, s.Ready)));
        Assert.Contains(done.Status.Conditions, c => c is { Type: "Initialized", Status: "True" });
    }

    [Fact]
    public async Task Pod_Should_FailWithoutRunningTheRest_When_APlainInitContainerFailsUnderRestartPolicyNever()
    {
        var pod = await cluster.CreateAsync(Shared(PodBuilder.Shell("echo main >> \"$WORK/order\"")
            .WithInitContainer("fetch", "echo fetching >> \"$WORK/order\"; echo 'no such bucket' > \"$MSG\"; exit 3")
            .WithInitContainer("after", "echo after >> \"$WORK/order\"")
            .Build()));

        var failed = await cluster.WaitForAsync(pod, p => p.Status?.Phase is "Succeeded" or "Failed", "the pod to end");

        Assert.Equal("Failed", failed.Status.Phase);
        var fetch = failed.Status.InitContainerStatuses.Single(s => s.Name == "fetch").State.Terminated;
        // What `kubectl get pod` shows as Init:Error.
        Assert.Equal((3, "Error", "no such bucket\n"), (fetch.ExitCode, fetch.Reason, fetch.Message));
        Assert.Null(failed.Status.InitContainerStatuses.Single(s => s.Name == "after").State.Terminated);
        Assert.Equal("PodInitializing", MainOf(failed)!.State.Waiting?.Reason);
        Assert.Contains(failed.Status.Conditions, c => c is { Type: "Initialized", Status: "False", Reason: "ContainersNotInitialized" });
        Assert.Equal("fetching\n", await File.ReadAllTextAsync(OrderFile(failed)));
    }

    [Fact]
    public async Task Pod_Should_StopSidecarsAfterTheMainContainerInReverseOrder_When_TheMainContainerExits()
    {
        var pod = await cluster.CreateAsync(Shared(PodBuilder.Shell("echo main >> \"$WORK/order\"; sleep 0.3; echo main-exit >> \"$WORK/order\"")
            .WithSidecar("s1", Sidecar("s1", readyFile: "s1-ready"), startupFile: "/work/s1-ready")
            .WithSidecar("s2", Sidecar("s2", stopSeconds: "1.5", readyFile: "s2-ready"), startupFile: "/work/s2-ready")
            .Build()));

        // The main container has exited; the pod is not over while a sidecar still stops.
        var stopping = await cluster.WaitForAsync(pod, p => MainOf(p)?.State?.Terminated is not null, "the main container to exit");
        Assert.Equal("Running", stopping.Status.Phase);
        Assert.Contains(stopping.Status.InitContainerStatuses, s => s.State.Running is not null);
        var done = await cluster.WaitForAsync(pod, p => p.Status?.Phase is "Succeeded" or "Failed", "the pod to end");

        Assert.Equal("Succeeded", done.Status.Phase);
        Assert.Equal("start-s1\nstart-s2\nmain\nmain-exit\nstop-s2\nstop-s1\n", await File.ReadAllTextAsync(OrderFile(done)));
        Assert.Equal(["s1", "s2"], done.Status.InitContainerStatuses.Select(s => s.Name));
        foreach (var sidecar in done.Status.InitContainerStatuses)
        {
            // Each stopped on SIGTERM and said so in its termination message.
            Assert.Equal((0, $"flushed {sidecar.Name}"), (sidecar.State.Terminated.ExitCode, sidecar.State.Terminated.Message));
            Assert.Equal(0, sidecar.RestartCount);
        }

        var s2 = done.Status.InitContainerStatuses[1].State.Terminated;
        Assert.True(s2.FinishedAt >= MainOf(done)!.State.Terminated.FinishedAt, "s2 stopped before the main container exited");
    }

    [Fact]
    public async Task Pod_Should_StartTheMainContainerOnlyOnceTheStartupProbeFileExists_When_ASidecarHasTheTestFileProbe()
    {
        var pod = await cluster.CreateAsync(Shared(PodBuilder.Shell("test -f \"$WORK/restored\" || exit 9; echo main >> \"$WORK/order\"")
            .WithSidecar("restore", "sleep 2; echo restored >> \"$WORK/order\"; touch \"$WORK/restored\"; exec sleep 300", startupFile: "/work/restored")
            .Build()));

        // Running, not started: its startup probe has not passed, so the main container waits.
        var gated = await cluster.WaitForAsync(pod, p => p.Status?.InitContainerStatuses?.SingleOrDefault()?.State?.Running is not null, "the sidecar to run");
        var sidecar = gated.Status.InitContainerStatuses.Single();
        Assert.False(sidecar.Started);
        Assert.Equal("Pending", gated.Status.Phase);
        Assert.Equal("PodInitializing", MainOf(gated)!.State.Waiting?.Reason);
        Assert.Contains(gated.Status.Conditions, c => c is { Type: "Initialized", Status: "False" });

        var done = await cluster.WaitForAsync(pod, p => p.Status?.Phase is "Succeeded" or "Failed", "the pod to end");
        Assert.Equal("Succeeded", done.Status.Phase);
        Assert.Equal("restored\nmain\n", await File.ReadAllTextAsync(OrderFile(done)));
        // The sidecar (exec sleep: SIGTERM kills it) was stopped after the main container.
        Assert.Equal(143, done.Status.InitContainerStatuses.Single().State.Terminated.ExitCode);
    }

    private static V1ContainerStatus? MainOf(V1Pod pod) => pod.Status?.ContainerStatuses?.SingleOrDefault(c => c.Name == "main");

    private string WorkDirectory(V1Pod pod) => Path.Combine(cluster.Root, "work", pod.Metadata.Name);

    private string OrderFile(V1Pod pod) => Path.Combine(WorkDirectory(pod), "order");

    /// <summary>Every container mounts the directory "work" (a hostPath, so the test reads it) at /work, with WORK=/work and MSG.</summary>
    private V1Pod Shared(V1Pod pod)
    {
        pod.Spec.Volumes.Add(new V1Volume { Name = "work", HostPath = new V1HostPathVolumeSource { Path = WorkDirectory(pod), Type = "DirectoryOrCreate" } });
        foreach (var container in (pod.Spec.InitContainers ?? []).Concat(pod.Spec.Containers))
        {
            container.VolumeMounts = [.. container.VolumeMounts ?? [], new V1VolumeMount { Name = "work", MountPath = "/work" }];
            // MSG: the termination-message path, which the agent maps to each container's own file.
            container.Env = [.. container.Env ?? [], new V1EnvVar { Name = "WORK", Value = "/work" }, new V1EnvVar { Name = "MSG", Value = "/dev/termination-log" }];
        }

        return pod;
    }
}
