using System.Diagnostics;
using System.Text;
using k8s;
using k8s.Models;

namespace K8sTraining.LocalCluster.Tests.NodeAgent;

/// <summary>The node agent against the in-process control plane, through the real KubernetesClient.</summary>
[Trait("Category", "Integration")]
public sealed class NodeAgentPodTests(NodeAgentFixture cluster) : IClassFixture<NodeAgentFixture>
{
    private static V1ContainerStatus MainStatus(V1Pod pod) => pod.Status.ContainerStatuses.Single(c => c.Name == "main");

    private static bool Terminated(V1Pod pod) => pod.Status?.ContainerStatuses?.FirstOrDefault()?.State?.Terminated is not null;

    [Fact]
    public async Task Pod_Should_SucceedWithExitCodeZeroAndTerminationMessage_When_CommandExitsZero()
    {
        var pod = await cluster.CreateAsync(PodBuilder.Shell("echo hello; printf 'all done' > \"$MSG\"; exit 0")
            .WithEnv("MSG", "/dev/termination-log")
            .Build());

        var done = await cluster.WaitForAsync(pod, p => p.Status?.Phase == "Succeeded", "Succeeded");

        var terminated = MainStatus(done).State.Terminated;
        Assert.Equal(0, terminated.ExitCode);
        Assert.Equal("Completed", terminated.Reason);
        Assert.Equal("all done", terminated.Message);
        Assert.NotNull(terminated.StartedAt);
        Assert.NotNull(terminated.FinishedAt);
        // The pod's own address on the pod network (node 127.0.0.1's pods: 127.1.0.0/16), not the node's.
        Assert.Equal("127.0.0.1", done.Status.HostIP);
        Assert.StartsWith("127.1.", done.Status.PodIP, StringComparison.Ordinal);
        Assert.Equal(done.Status.PodIP, Assert.Single(done.Status.PodIPs).Ip);
        Assert.Contains(done.Status.Conditions, c => c.Type == "Ready" && c.Status == "False" && c.Reason == "PodCompleted");
        Assert.Equal("hello\n", await File.ReadAllTextAsync(cluster.LogFile(done)));
    }

    [Fact]
    public async Task Pod_Should_FailWithTheExitCode_When_CommandExitsThree()
    {
        var pod = await cluster.CreateAsync(PodBuilder.Shell("echo about to fail >&2; exit 3")
            .WithTerminationMessagePolicy("FallbackToLogsOnError")
            .Build());

        var failed = await cluster.WaitForAsync(pod, p => p.Status?.Phase == "Failed", "Failed");

        var terminated = MainStatus(failed).State.Terminated;
        Assert.Equal(3, terminated.ExitCode);
        Assert.Equal("Error", terminated.Reason);
        Assert.Equal("about to fail\n", terminated.Message);
    }

    [Fact]
    public async Task Pod_Should_ReportRunningAndReady_When_ContainerIsStarted()
    {
        var pod = await cluster.CreateAsync(PodBuilder.Shell("echo up; exec sleep 300").Build());

        var running = await cluster.WaitForAsync(pod, p => p.Status?.Phase == "Running", "Running");

        var status = MainStatus(running);
        Assert.True(status.Ready);
        Assert.True(status.Started);
        Assert.NotNull(status.State.Running.StartedAt);
        Assert.StartsWith("local://", status.ContainerID, StringComparison.Ordinal);
        Assert.NotNull(running.Status.StartTime);
        foreach (var type in new[] { "PodScheduled", "Initialized", "ContainersReady", "Ready" })
        {
            Assert.Contains(running.Status.Conditions, c => c.Type == type && c.Status == "True");
        }

        await cluster.Client.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, "default", gracePeriodSeconds: 2);
    }

    [Fact]
    public async Task Pod_Should_ReceiveSecretAndDownwardApiEnv_When_TheyAreReferenced()
    {
        var secretName = PodBuilder.UniqueName("creds");
        await cluster.Client.CoreV1.CreateNamespacedSecretAsync(
            new V1Secret { Metadata = new V1ObjectMeta { Name = secretName }, Data = new Dictionary<string, byte[]> { ["key"] = Encoding.UTF8.GetBytes("s3cr3t") } },
            "default");
        var pod = await cluster.CreateAsync(PodBuilder.Shell("printf '%s|%s|%s|%s|%s|%s|%s' \"$SECRET\" \"$NAME\" \"$NS\" \"$UID_\" \"$JOB\" \"$NODE\" \"$IP\" > \"$MSG\"")
            .WithLabel("k8straining.io/job", "job-a")
            .WithEnv("MSG", "/dev/termination-log")
            .WithEnv("SECRET", new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = secretName, Key = "key" } })
            .WithFieldEnv("NAME", "metadata.name")
            .WithFieldEnv("NS", "metadata.namespace")
            .WithFieldEnv("UID_", "metadata.uid")
            .WithFieldEnv("JOB", "metadata.labels['k8straining.io/job']")
            .WithFieldEnv("NODE", "spec.nodeName")
            .WithFieldEnv("IP", "status.podIP")
            .Build());

        var done = await cluster.WaitForAsync(pod, p => p.Status?.Phase == "Succeeded", "Succeeded");

        Assert.StartsWith("127.1.", done.Status.PodIP, StringComparison.Ordinal);
        Assert.Equal($"s3cr3t|{pod.Metadata.Name}|default|{pod.Metadata.Uid}|job-a|local-node|{done.Status.PodIP}", MainStatus(done).State.Terminated.Message);
    }

    [Fact]
    public async Task Pod_Should_WaitWithCreateContainerConfigError_When_SecretIsMissing()
    {
        var pod = await cluster.CreateAsync(PodBuilder.Shell("exit 0")
            .WithEnv("SECRET", new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = "does-not-exist", Key = "key" } })
            .Build());

        var waiting = await cluster.WaitForAsync(pod, p => p.Status?.ContainerStatuses?.FirstOrDefault()?.State?.Waiting?.Reason == "CreateContainerConfigError", "CreateContainerConfigError");

        Assert.Equal("Pending", waiting.Status.Phase);
        Assert.Equal("secret \"does-not-exist\" not found", MainStatus(waiting).State.Waiting.Message);
        await cluster.Client.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, "default");
        await WaitGoneAsync(pod);
    }

    [Fact]
    public async Task Pod_Should_WaitWithErrImagePull_When_ImageIsNotInTheTable()
    {
        var pod = await cluster.CreateAsync(PodBuilder.Image("nginx:1.27", "unknown-image").Build());

        var waiting = await cluster.WaitForAsync(pod, p => p.Status?.ContainerStatuses?.FirstOrDefault()?.State?.Waiting?.Reason == "ErrImagePull", "ErrImagePull");

        Assert.Equal("Pending", waiting.Status.Phase);
        await cluster.Client.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, "default");
        await WaitGoneAsync(pod);
    }

    [Fact]
    public async Task Pod_Should_FailWithStartError128_When_TheCommandDoesNotExist()
    {
        var pod = await cluster.CreateAsync(PodBuilder.Image("busybox", "no-such-command").WithCommand("no-such-command-anywhere").Build());

        var failed = await cluster.WaitForAsync(pod, p => p.Status?.Phase == "Failed", "Failed");

        var terminated = MainStatus(failed).State.Terminated;
        Assert.Equal(128, terminated.ExitCode);
        Assert.Equal("StartError", terminated.Reason);
        Assert.Contains("executable file not found in $PATH", terminated.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pod_Should_RunTheMainContainerAfterItsInitContainer_When_ItHasOne()
    {
        // Issue 17: init containers run (before, the agent left such a pod Pending with CreateContainerConfigError).
        var pod = await cluster.CreateAsync(PodBuilder.Shell("echo main ran").WithInitContainer("setup", "exit 0").Build());

        var done = await cluster.WaitForAsync(pod, p => p.Status?.Phase is "Succeeded" or "Failed", "the pod to end");

        Assert.Equal("Succeeded", done.Status.Phase);
        Assert.Equal(0, done.Status.InitContainerStatuses.Single(c => c.Name == "setup").State.Terminated.ExitCode);
        Assert.Equal("main ran\n", await File.ReadAllTextAsync(cluster.LogFile(done)));
    }

    [Fact]
    public async Task Pod_Should_RestartUntilSuccess_When_RestartPolicyIsOnFailure()
    {
        var pod = await cluster.CreateAsync(PodBuilder.Shell("if [ -f \"$SCRATCH/tried\" ]; then exit 0; fi; touch \"$SCRATCH/tried\"; exit 1")
            .WithEnv("SCRATCH", "/scratch")
            .WithRestartPolicy("OnFailure")
            .WithEmptyDir("scratch", "/scratch")
            .Build());

        var done = await cluster.WaitForAsync(pod, p => p.Status?.Phase == "Succeeded", "Succeeded after a restart");

        var status = MainStatus(done);
        Assert.Equal(1, status.RestartCount);
        Assert.Equal(1, status.LastState.Terminated.ExitCode);
        Assert.Equal(0, status.State.Terminated.ExitCode);
    }

    [Fact]
    public async Task Delete_Should_ReportExit75BeforeThePodGoes_When_ContainerTrapsSigterm()
    {
        var pod = await cluster.CreateAsync(PodBuilder.Shell("trap 'printf preempted > \"$MSG\"; exit 75' TERM; echo ready; while true; do sleep 0.1; done")
            .WithEnv("MSG", "/dev/termination-log")
            .Build());
        var running = await cluster.WaitForAsync(pod, p => p.Status?.Phase == "Running", "Running");
        await cluster.WaitForLogAsync(running, "ready");

        var seen = cluster.WatchUntilDeletedAsync(running);
        await cluster.Client.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, "default");
        var events = await seen;

        Assert.Equal(WatchEventType.Deleted, events[^1].Type);
        var final = events.Last(e => e.Type == WatchEventType.Modified && Terminated(e.Pod)).Pod;
        Assert.Equal(75, MainStatus(final).State.Terminated.ExitCode);
        Assert.Equal("preempted", MainStatus(final).State.Terminated.Message);
        Assert.Equal("Failed", final.Status.Phase);
        Assert.NotNull(final.Metadata.DeletionTimestamp);
    }

    [Fact]
    public async Task Delete_Should_SigkillWith137AfterTheGracePeriod_When_ContainerIgnoresSigterm()
    {
        var pod = await cluster.CreateAsync(PodBuilder.Shell("trap '' TERM; echo ready; while true; do sleep 0.2; done")
            .WithGracePeriod(2)
            .Build());
        var running = await cluster.WaitForAsync(pod, p => p.Status?.Phase == "Running", "Running");
        await cluster.WaitForLogAsync(running, "ready");

        var seen = cluster.WatchUntilDeletedAsync(running);
        var clock = Stopwatch.StartNew();
        await cluster.Client.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, "default");
        var events = await seen;
        clock.Stop();

        var final = events.Last(e => e.Type == WatchEventType.Modified && Terminated(e.Pod)).Pod;
        Assert.Equal(137, MainStatus(final).State.Terminated.ExitCode);
        Assert.Equal("Error", MainStatus(final).State.Terminated.Reason);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task Delete_Should_Give143_When_SigtermIsNotHandled()
    {
        var pod = await cluster.CreateAsync(PodBuilder.Shell("echo ready; exec sleep 300").Build());
        var running = await cluster.WaitForAsync(pod, p => p.Status?.Phase == "Running", "Running");
        await cluster.WaitForLogAsync(running, "ready");

        var seen = cluster.WatchUntilDeletedAsync(running);
        await cluster.Client.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, "default");
        var events = await seen;

        var final = events.Last(e => e.Type == WatchEventType.Modified && Terminated(e.Pod)).Pod;
        Assert.Equal(143, MainStatus(final).State.Terminated.ExitCode);
        var reasons = await Eventually.ValueAsync(
            async () =>
            {
                var list = await cluster.Client.CoreV1.ListNamespacedEventAsync("default");
                var mine = list.Items.Where(e => e.InvolvedObject.Uid == pod.Metadata.Uid).Select(e => e.Reason).ToHashSet();
                return mine.Contains("Killing") ? mine : null;
            },
            what: "a Killing event");
        Assert.Contains("Started", reasons);
        Assert.Contains("Created", reasons);
    }

    [Fact]
    public async Task Eviction_Should_KeepDisruptionTargetAndTerminateGracefully_When_PodIsEvicted()
    {
        var pod = await cluster.CreateAsync(PodBuilder.Shell("trap 'printf evicted > \"$MSG\"; exit 75' TERM; echo ready; while true; do sleep 0.1; done")
            .WithEnv("MSG", "/dev/termination-log")
            .Build());
        var running = await cluster.WaitForAsync(pod, p => p.Status?.Phase == "Running", "Running");
        await cluster.WaitForLogAsync(running, "ready");

        var seen = cluster.WatchUntilDeletedAsync(running);
        await cluster.Client.CoreV1.CreateNamespacedPodEvictionAsync(
            new V1Eviction { Metadata = new V1ObjectMeta { Name = pod.Metadata.Name, NamespaceProperty = "default" } },
            pod.Metadata.Name,
            "default");
        var events = await seen;

        var final = events.Last(e => e.Type == WatchEventType.Modified && Terminated(e.Pod)).Pod;
        var disruption = Assert.Single(final.Status.Conditions, c => c.Type == "DisruptionTarget");
        Assert.Equal("True", disruption.Status);
        Assert.Equal("EvictionByEvictionAPI", disruption.Reason);
        Assert.Equal(75, MainStatus(final).State.Terminated.ExitCode);
        Assert.Equal("evicted", MainStatus(final).State.Terminated.Message);
        Assert.Equal(WatchEventType.Deleted, events[^1].Type);
    }

    [Fact]
    public async Task Delete_Should_RemoveAtOnce_When_PodHasAlreadySucceeded()
    {
        var pod = await cluster.CreateAsync(PodBuilder.Shell("exit 0").Build());
        await cluster.WaitForAsync(pod, p => p.Status?.Phase == "Succeeded", "Succeeded");

        await cluster.Client.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, "default", gracePeriodSeconds: 30);

        await WaitGoneAsync(pod, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Pod_Should_BackOffBetweenRestarts_When_ContainerKeepsFailingUnderRestartPolicyAlways()
    {
        var pod = await cluster.CreateAsync(PodBuilder.Shell("exit 1").WithRestartPolicy("Always").Build());

        var backingOff = await cluster.WaitForAsync(pod, p => p.Status?.ContainerStatuses?.FirstOrDefault()?.State?.Waiting?.Reason == "CrashLoopBackOff", "CrashLoopBackOff");
        var restarted = await cluster.WaitForAsync(pod, p => p.Status?.ContainerStatuses?.FirstOrDefault()?.RestartCount >= 2, "second restart");

        Assert.Equal("Running", backingOff.Status.Phase);
        Assert.Equal(1, MainStatus(backingOff).LastState.Terminated.ExitCode);
        Assert.Contains("back-off", MainStatus(backingOff).State.Waiting.Message, StringComparison.Ordinal);
        Assert.Equal("Running", restarted.Status.Phase);
        await cluster.Client.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, "default", gracePeriodSeconds: 2);
        await WaitGoneAsync(pod);
    }

    [Fact]
    public async Task Delete_Should_RemoveEmptyDirButKeepLogs_When_PodIsGone()
    {
        var pod = await cluster.CreateAsync(PodBuilder.Shell("echo kept; echo data > \"$DATA/file\"")
            .WithEnv("DATA", "/data")
            .WithEmptyDir("data", "/data")
            .Build());
        var done = await cluster.WaitForAsync(pod, p => p.Status?.Phase == "Succeeded", "Succeeded");
        var podDirectory = Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(cluster.LogFile(done))))!;
        var file = Path.Combine(podDirectory, "volumes", "kubernetes.io~empty-dir", "data", "file");
        Assert.True(File.Exists(file), $"{file} was not written through the mapped mount path");

        await cluster.Client.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, "default");
        await WaitGoneAsync(pod);

        await Eventually.TrueAsync(() => !File.Exists(file), what: "the emptyDir is removed");
        Assert.Equal("kept\n", await File.ReadAllTextAsync(cluster.LogFile(done)));
    }

    [Fact]
    public async Task Delete_Should_HonourAShorterGracePeriod_When_PodIsDeletedAgain()
    {
        var pod = await cluster.CreateAsync(PodBuilder.Shell("trap '' TERM; echo ready; while true; do sleep 0.2; done")
            .WithGracePeriod(120)
            .Build());
        var running = await cluster.WaitForAsync(pod, p => p.Status?.Phase == "Running", "Running");
        await cluster.WaitForLogAsync(running, "ready");

        var seen = cluster.WatchUntilDeletedAsync(running);
        await cluster.Client.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, "default");
        await cluster.WaitForAsync(pod, p => p.Metadata.DeletionTimestamp is not null, "deletion started");
        await cluster.Client.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, "default", gracePeriodSeconds: 3);
        var events = await seen;

        var final = events.Last(e => e.Type == WatchEventType.Modified && Terminated(e.Pod)).Pod;
        Assert.Equal(137, MainStatus(final).State.Terminated.ExitCode);
    }

    private async Task WaitGoneAsync(V1Pod pod, TimeSpan? timeout = null)
    {
        await Eventually.ValueAsync(
            async () =>
            {
                var list = await cluster.Client.CoreV1.ListPodForAllNamespacesAsync(fieldSelector: "spec.nodeName=local-node");
                return list.Items.Any(p => p.Metadata.Uid == pod.Metadata.Uid) ? null : list;
            },
            timeout ?? TimeSpan.FromSeconds(30),
            $"{pod.Metadata.Name} is gone");
    }
}
