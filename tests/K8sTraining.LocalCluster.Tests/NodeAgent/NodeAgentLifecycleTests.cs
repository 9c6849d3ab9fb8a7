using K8sTraining.LocalCluster.Hosting;
using K8sTraining.NodeAgent;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace K8sTraining.LocalCluster.Tests.NodeAgent;

/// <summary>The agent's own lifetime: stopping it leaves no process behind, and a new agent takes over honestly.</summary>
[Trait("Category", "Integration")]
public sealed class NodeAgentLifecycleTests : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("node-agent-life-").FullName;
    private LocalControlPlane _plane = null!;
    private IKubernetes _client = null!;

    public async Task InitializeAsync()
    {
        // A short watch history, so that a watch resumed after other changes gets 410 Gone.
        _plane = await LocalControlPlane.StartAsync(new LocalControlPlaneOptions { StartNodeAgent = false, WatchHistorySize = 20 });
        _client = new Kubernetes(new KubernetesClientConfiguration { Host = _plane.BaseUri.ToString() });
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _plane.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    private (Task Running, CancellationTokenSource Stop) StartAgent(TimeSpan? watchTimeout = null)
    {
        var stop = new CancellationTokenSource();
        var agent = new NodeAgentHost(
            new NodeAgentOptions
            {
                KubeconfigPath = _plane.KubeconfigPath,
                RepositoryRoot = RepositoryPaths.Root,
                RootDirectory = _root,
                WatchTimeout = watchTimeout ?? TimeSpan.FromMinutes(5),
            },
            NullLogger<NodeAgentHost>.Instance);
        return (agent.RunAsync(stop.Token), stop);
    }

    private async Task<V1Pod> WaitForAsync(V1Pod pod, Func<V1Pod, bool> condition, string what) =>
        await Eventually.ValueAsync(
            async () =>
            {
                var current = await _client.CoreV1.ReadNamespacedPodAsync(pod.Metadata.Name, "default");
                return condition(current) ? current : null;
            },
            TimeSpan.FromSeconds(30),
            what);

    private int Pid(V1Pod pod) => int.Parse(File.ReadAllText(Path.Combine(_root, "pods", $"default_{pod.Metadata.Name}_{pod.Metadata.Uid}", "containers", "main", "pid")).Split(' ')[0]);

    private static bool Alive(int pid) =>
        Directory.Exists($"/proc/{pid}") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal);

    [Fact]
    public async Task RunAsync_Should_KillEveryPodProcess_When_TheAgentStops()
    {
        var (running, stop) = StartAgent();
        var pod = await _client.CoreV1.CreateNamespacedPodAsync(PodBuilder.Shell("sleep 300 & exec sleep 300").Build(), "default");
        pod = await WaitForAsync(pod, p => p.Status?.Phase == "Running", "Running");
        var pid = Pid(pod);
        Assert.True(Alive(pid));

        await stop.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.False(Alive(pid), $"process {pid} outlived the agent");
        stop.Dispose();
    }

    [Fact]
    public async Task RunAsync_Should_ReportContainerStatusUnknown_When_ANewAgentFindsAPodThatWasRunning()
    {
        var (first, stopFirst) = StartAgent();
        var pod = await _client.CoreV1.CreateNamespacedPodAsync(PodBuilder.Shell("exec sleep 300").Build(), "default");
        await WaitForAsync(pod, p => p.Status?.Phase == "Running", "Running");
        await stopFirst.CancelAsync();
        await first.WaitAsync(TimeSpan.FromSeconds(30));

        var (second, stopSecond) = StartAgent();
        var failed = await WaitForAsync(pod, p => p.Status?.Phase == "Failed", "Failed after the agent came back");

        var terminated = failed.Status.ContainerStatuses[0].State.Terminated;
        Assert.Equal(137, terminated.ExitCode);
        Assert.Equal("ContainerStatusUnknown", terminated.Reason);
        await stopSecond.CancelAsync();
        await second.WaitAsync(TimeSpan.FromSeconds(30));
        stopFirst.Dispose();
        stopSecond.Dispose();
    }

    [Fact]
    public async Task RunAsync_Should_ListAgainAndKeepRunningPods_When_ItsWatchVersionIsGone()
    {
        var (running, stop) = StartAgent(TimeSpan.FromSeconds(1));
        var first = await _client.CoreV1.CreateNamespacedPodAsync(PodBuilder.Shell("exit 0").Build(), "default");
        await WaitForAsync(first, p => p.Status?.Phase == "Succeeded", "first pod Succeeded");
        int PodLists() => _plane.AuditLog.Entries.Count(e => e.Verb == "list" && e.Resource == "pods" && e.Namespace.Length == 0);
        var listsBefore = PodLists();

        // Changes the agent's watch does not see push its resource version out of the server's window.
        for (var i = 0; i < 40; i++)
        {
            await _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = $"filler-{i}" } }, "default");
        }

        await Eventually.TrueAsync(() => PodLists() > listsBefore, TimeSpan.FromSeconds(30), "the agent lists pods again");
        var second = await _client.CoreV1.CreateNamespacedPodAsync(PodBuilder.Shell("exit 0").Build(), "default");
        await WaitForAsync(second, p => p.Status?.Phase == "Succeeded", "a pod created after the relist runs");

        await stop.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(30));
        stop.Dispose();
    }

    [Fact]
    public async Task AddLocalNodeAgent_Should_RunPodsForTheHostsLifetime_When_RegisteredInAGenericHost()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddLocalNodeAgent(new NodeAgentOptions { KubeconfigPath = _plane.KubeconfigPath, RepositoryRoot = RepositoryPaths.Root, RootDirectory = _root });
        using var host = builder.Build();
        await host.StartAsync();

        var pod = await _client.CoreV1.CreateNamespacedPodAsync(PodBuilder.Shell("exec sleep 300").Build(), "default");
        pod = await WaitForAsync(pod, p => p.Status?.Phase == "Running", "Running");
        var pid = Pid(pod);
        await host.StopAsync();

        Assert.False(Alive(pid), $"process {pid} outlived the host");
    }
}
