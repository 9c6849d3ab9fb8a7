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

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await Eventually.GetAsync(
            async () => (await KubectlAsync("get", "nodes", "--no-headers")).Stdout,
            nodes => nodes.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.Contains(" Ready ", StringComparison.Ordinal)) == 2,
            TimeSpan.FromSeconds(30),
            "two Ready nodes");
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
