using K8sTraining.LocalCluster.Hosting;
using k8s;
using k8s.Models;

namespace K8sTraining.LocalCluster.Tests.NodeAgent;

/// <summary>One in-process control plane with its node agent, shared by a test class; tests use unique pod names.</summary>
public sealed class NodeAgentFixture : IAsyncLifetime
{
    private LocalControlPlane? _plane;

    public string Root { get; } = Directory.CreateTempSubdirectory("node-agent-").FullName;

    public IKubernetes Client { get; private set; } = null!;

    /// <summary>The control plane itself, for objects its API would refuse (what an older or laxer server let in).</summary>
    public LocalControlPlane Plane => _plane!;

    public async Task InitializeAsync()
    {
        _plane = await LocalControlPlane.StartAsync(new LocalControlPlaneOptions
        {
            StartNodeAgent = true,
            RepositoryRoot = RepositoryPaths.Root,
            StateDirectory = Root,
            ConfigureNodeAgent = options => options with
            {
                // Short timings so that re-watching, back-off and retries all happen within the tests.
                WatchTimeout = TimeSpan.FromSeconds(2),
                RestartBackoffInitial = TimeSpan.FromSeconds(1),
                ConfigRetryInterval = TimeSpan.FromMilliseconds(200),
            },
        });
        Client = new Kubernetes(new KubernetesClientConfiguration { Host = _plane.BaseUri.ToString() });
    }

    public async Task DisposeAsync()
    {
        Client?.Dispose();
        if (_plane is not null)
        {
            await _plane.DisposeAsync();
        }

        Directory.Delete(Root, recursive: true);
    }

    /// <summary>The container's log file in the pod directory (stdout and stderr of run restartCount).</summary>
    public string LogFile(V1Pod pod, string container = "main", int restartCount = 0) =>
        Path.Combine(Root, "nodes", "local-node", "pods", $"{pod.Metadata.NamespaceProperty}_{pod.Metadata.Name}_{pod.Metadata.Uid}",
            "containers", container, $"{restartCount}.log");

    public async Task<V1Pod> CreateAsync(V1Pod pod) =>
        await Client.CoreV1.CreateNamespacedPodAsync(pod, pod.Metadata.NamespaceProperty ?? "default");

    public async Task<V1Pod> WaitForAsync(V1Pod pod, Func<V1Pod, bool> condition, string what, TimeSpan? timeout = null) =>
        await Eventually.ValueAsync(
            async () =>
            {
                var current = await Client.CoreV1.ReadNamespacedPodAsync(pod.Metadata.Name, pod.Metadata.NamespaceProperty ?? "default");
                return condition(current) ? current : null;
            },
            timeout ?? TimeSpan.FromSeconds(30),
            what);

    public async Task WaitForLogAsync(V1Pod pod, string text, TimeSpan? timeout = null) =>
        await Eventually.TrueAsync(
            () => File.Exists(LogFile(pod)) && File.ReadAllText(LogFile(pod)).Contains(text, StringComparison.Ordinal),
            timeout ?? TimeSpan.FromSeconds(30),
            $"log of {pod.Metadata.Name} contains '{text}'");

    /// <summary>Every watch event of this pod from its current version until it is deleted.</summary>
    public async Task<List<(WatchEventType Type, V1Pod Pod)>> WatchUntilDeletedAsync(V1Pod pod)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var events = new List<(WatchEventType, V1Pod)>();
        var watch = Client.CoreV1.WatchListPodForAllNamespacesAsync(
            fieldSelector: "spec.nodeName=local-node",
            resourceVersion: pod.Metadata.ResourceVersion,
            timeoutSeconds: 60,
            cancellationToken: timeout.Token);
        await foreach (var (type, item) in watch)
        {
            if (item.Metadata.Uid != pod.Metadata.Uid)
            {
                continue;
            }

            events.Add((type, item));
            if (type == WatchEventType.Deleted)
            {
                return events;
            }
        }

        throw new TimeoutException($"{pod.Metadata.Name} was not deleted; saw {events.Count} events");
    }
}
