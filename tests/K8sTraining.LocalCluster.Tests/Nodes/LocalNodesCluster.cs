using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using K8sTraining.LocalCluster.Controllers.Nodes;
using K8sTraining.LocalCluster.Hosting;
using K8sTraining.LocalCluster.Tests.ApiServer;

namespace K8sTraining.LocalCluster.Tests.Nodes;

/// <summary>
/// A fresh control plane with several in-process nodes and short node-lifecycle timings, driven through the real
/// kubectl. One per test: freezing a node changes the cluster for good.
/// </summary>
public sealed class LocalNodesCluster : IAsyncDisposable
{
    /// <summary>The short timings the tests run with: NotReady about 4 s after the last heartbeat.</summary>
    public static readonly NodeLifecycleOptions ShortLifecycle = new()
    {
        NodeMonitorPeriod = TimeSpan.FromMilliseconds(250),
        NodeMonitorGracePeriod = TimeSpan.FromSeconds(4),
        NodeStartupGracePeriod = TimeSpan.FromSeconds(20),
        PodGcPeriod = TimeSpan.FromMilliseconds(500),
        PodGcOrphanQuarantine = TimeSpan.FromSeconds(1),
    };

    public static readonly TimeSpan LeaseRenewInterval = TimeSpan.FromSeconds(1);

    private readonly string _cacheDir = Directory.CreateTempSubdirectory("kubectl-cache-").FullName;

    private LocalNodesCluster(LocalControlPlane plane, string root)
    {
        Plane = plane;
        Root = root;
    }

    public LocalControlPlane Plane { get; }

    public string Root { get; }

    public static async Task<LocalNodesCluster> StartAsync(int nodes = 2, Func<NodeLifecycleOptions, NodeLifecycleOptions>? lifecycle = null)
    {
        var root = Directory.CreateTempSubdirectory("local-nodes-").FullName;
        var plane = await LocalControlPlane.StartAsync(new LocalControlPlaneOptions
        {
            StartNodeAgent = true,
            Nodes = nodes,
            RepositoryRoot = RepositoryPaths.Root,
            StateDirectory = root,
            EnforcePodAdmission = false,
            NodeLifecycle = lifecycle?.Invoke(ShortLifecycle) ?? ShortLifecycle,
            NodeLeaseDuration = TimeSpan.FromSeconds(4),
            NodeLeaseRenewInterval = LeaseRenewInterval,
            NodeStatusReportFrequency = TimeSpan.FromSeconds(1),
            ConfigureNodeAgent = o => o with { WatchTimeout = TimeSpan.FromSeconds(5), ConfigRetryInterval = TimeSpan.FromMilliseconds(200) },
        });
        var cluster = new LocalNodesCluster(plane, root);
        await Eventually.TrueAsync(
            async () => (await cluster.KubectlAsync("get", "nodes", "--no-headers")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.Contains(" Ready ", StringComparison.Ordinal)) == nodes,
            $"{nodes} nodes Ready",
            TimeSpan.FromSeconds(30));
        return cluster;
    }

    public Task<KubectlResult> KubectlAsync(params string[] args) => Kubectl.RunAsync(Plane.KubeconfigPath, _cacheDir, null, args);

    public Task<KubectlResult> KubectlWithInputAsync(string stdin, params string[] args) => Kubectl.RunAsync(Plane.KubeconfigPath, _cacheDir, stdin, args);

    /// <summary>`kubectl get ... -o jsonpath=...` (trimmed; empty when the object is gone).</summary>
    public async Task<string> JsonPathAsync(string kind, string name, string path) =>
        (await KubectlAsync("get", kind, name, "-o", $"jsonpath={path}")).Stdout.Trim();

    /// <summary>A busybox pod that sleeps, optionally on one node, tolerating not-ready/unreachable for that long.</summary>
    public async Task CreateSleeperAsync(string name, string? node = null, int? tolerationSeconds = null)
    {
        var lines = new List<string>
        {
            "apiVersion: v1",
            "kind: Pod",
            "metadata:",
            $"  name: {name}",
            "spec:",
            "  terminationGracePeriodSeconds: 5",
            "  containers:",
            "  - name: main",
            "    image: docker.io/library/busybox:1.36",
            "    command: [\"sleep\", \"3600\"]",
        };
        if (node is not null)
        {
            lines.Add($"  nodeSelector: {{\"kubernetes.io/hostname\": \"{node}\"}}");
        }

        if (tolerationSeconds is { } t)
        {
            lines.Add("  tolerations:");
            lines.Add($"  - {{key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: {t}}}");
            lines.Add($"  - {{key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: {t}}}");
        }

        (await KubectlWithInputAsync(string.Join('\n', lines) + "\n", "apply", "-f", "-")).Succeeded();
    }

    public async Task WaitForRunningAsync(string pod) =>
        await Eventually.TrueAsync(async () => await JsonPathAsync("pod", pod, "{.status.phase}") == "Running", $"{pod} Running", TimeSpan.FromSeconds(30));

    /// <summary>The main container's process (pid and start time) from the node agent's pid file.</summary>
    public async Task<(int Pid, long Start)> ProcessOfAsync(string pod, string node)
    {
        var uid = await JsonPathAsync("pod", pod, "{.metadata.uid}");
        var file = Path.Combine(Root, "nodes", node, "pods", $"default_{pod}_{uid}", "containers", "main", "pid");
        await Eventually.TrueAsync(() => File.Exists(file), TimeSpan.FromSeconds(10), file);
        var parts = (await File.ReadAllTextAsync(file)).Split(' ');
        return (int.Parse(parts[0], CultureInfo.InvariantCulture), long.Parse(parts[1], CultureInfo.InvariantCulture));
    }

    /// <summary>`kubectl get pod NAME -w --output-watch-events`, one line per event: TYPE PHASE DISRUPTION-REASON.</summary>
    public PodWatch WatchPod(string pod) => new(Plane.KubeconfigPath, _cacheDir, pod);

    public async ValueTask DisposeAsync()
    {
        await Plane.DisposeAsync();
        Directory.Delete(_cacheDir, recursive: true);
        Directory.Delete(Root, recursive: true);
    }

    public sealed class PodWatch : IDisposable
    {
        private readonly Process _process;

        public PodWatch(string kubeconfig, string cacheDir, string pod)
        {
            var psi = new ProcessStartInfo("kubectl") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[]
            {
                "--kubeconfig", kubeconfig, "--cache-dir", cacheDir, "get", "pod", pod, "-w", "--output-watch-events",
                "-o", "jsonpath={.type} {.object.status.phase} {.object.status.conditions[?(@.type==\"DisruptionTarget\")].reason}{\"\\n\"}",
            })
            {
                psi.ArgumentList.Add(a);
            }

            _process = Process.Start(psi)!;
            _process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is { Length: > 0 } line)
                {
                    Lines.Enqueue(line.Trim());
                }
            };
            _process.BeginOutputReadLine();
        }

        public ConcurrentQueue<string> Lines { get; } = new();

        public void Dispose()
        {
            try
            {
                _process.Kill();
            }
            catch (InvalidOperationException)
            {
                // exited
            }

            _process.Dispose();
        }
    }
}
