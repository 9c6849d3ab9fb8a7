using System.Diagnostics;
using K8sTraining.LocalCluster.Controllers.Nodes;
using K8sTraining.LocalCluster.Hosting;

namespace K8sTraining.Operator.Tests.Integration;

/// <summary>
/// The local cluster with two nodes (local-node 127.0.0.1, local-node-2 127.0.0.2) and short node-lifecycle timings:
/// a silent node turns Ready=Unknown about <see cref="NodeMonitorGracePeriod"/> after its last heartbeat, pod GC acts
/// after a second's quarantine. One per test class: losing a node changes the cluster for good.
/// </summary>
public sealed class TwoNodeClusterFixture : ClusterFixture
{
    public static readonly TimeSpan NodeMonitorGracePeriod = TimeSpan.FromSeconds(4);

    private readonly string _kubectlCache = Directory.CreateTempSubdirectory("kubectl-cache-").FullName;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await Eventually.GetAsync(
            async () => (await KubectlAsync("get", "nodes", "--no-headers")).Stdout,
            nodes => nodes.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.Contains(" Ready ", StringComparison.Ordinal)) == 2,
            TimeSpan.FromSeconds(30),
            "two Ready nodes");
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        try
        {
            Directory.Delete(_kubectlCache, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>The real kubectl against this cluster: (exit code, stdout, stderr).</summary>
    public async Task<(int ExitCode, string Stdout, string Stderr)> KubectlAsync(params string[] args)
    {
        var psi = new ProcessStartInfo("kubectl") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--kubeconfig", Plane.KubeconfigPath, "--cache-dir", _kubectlCache }.Concat(args))
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>kubectl that must succeed; returns its stdout.</summary>
    public async Task<string> KubectlOkAsync(params string[] args)
    {
        var (code, stdout, stderr) = await KubectlAsync(args);
        Assert.True(code == 0, $"kubectl {string.Join(' ', args)} failed ({code}): {stderr}\n{stdout}");
        return stdout;
    }

    protected override LocalControlPlaneOptions Configure(LocalControlPlaneOptions options) => options with
    {
        Nodes = 2,
        NodeLifecycle = new NodeLifecycleOptions
        {
            NodeMonitorPeriod = TimeSpan.FromMilliseconds(250),
            NodeMonitorGracePeriod = NodeMonitorGracePeriod,
            NodeStartupGracePeriod = TimeSpan.FromSeconds(30),
            PodGcPeriod = TimeSpan.FromMilliseconds(500),
            PodGcOrphanQuarantine = TimeSpan.FromSeconds(1),
        },
        NodeLeaseDuration = TimeSpan.FromSeconds(4),
        NodeLeaseRenewInterval = TimeSpan.FromSeconds(1),
    };
}
