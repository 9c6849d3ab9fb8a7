using K8sTraining.LocalCluster.Hosting;
using K8sTraining.NodeAgent;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace K8sTraining.LocalCluster.Tests.NodeAgent;

/// <summary>The agent's own lifetime: stopping it leaves no process behind, and a new agent takes over honestly.</summary>
public sealed class NodeAgentLifecycleTests : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("node-agent-life-").FullName;
    private LocalControlPlane _plane = null!;
    private IKubernetes _client = null!;

    public async Task InitializeAsync()
    {
        _plane = await LocalControlPlane.StartAsync(new LocalControlPlaneOptions { StartNodeAgent = false });
        _client = new Kubernetes(new KubernetesClientConfiguration { Host = _plane.BaseUri.ToString() });
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _plane.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    private (Task Running, CancellationTokenSource Stop) StartAgent()
    {
        var stop = new CancellationTokenSource();
        var agent = new NodeAgentHost(
            new NodeAgentOptions { KubeconfigPath = _plane.KubeconfigPath, RepositoryRoot = RepositoryRoot.Path, RootDirectory = _root },
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
}
