using System.Globalization;
using K8sTraining.LocalCluster.Tests.Scripts;

namespace K8sTraining.LocalCluster.Tests.Nodes;

/// <summary>
/// Nodes that come, beat and vanish, as a user sees them through kubectl: scheduling over two nodes, heartbeats,
/// freezing a node with kill (a VM gone) or keep (a partition), the taint manager, the cloud double and pod GC.
/// Timings are the short ones of <see cref="LocalNodesCluster"/>: NotReady about 4 s after the last heartbeat.
/// </summary>
[Trait("Category", "Integration")]
public sealed class NodeLifecycleTests
{
    private const string Freeze = "localcluster.k8straining.io/freeze";
    private const int TolerationSeconds = 3;

    private static DateTimeOffset Time(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    [Fact]
    public async Task Scheduler_Should_SpreadPodsOverBothNodes_When_TwoNodesAreReady()
    {
        await using var cluster = await LocalNodesCluster.StartAsync();

        var nodes = (await cluster.KubectlAsync("get", "nodes", "-o", "wide")).Succeeded().Stdout;
        await cluster.CreateSleeperAsync("a");
        await cluster.CreateSleeperAsync("b");
        await cluster.WaitForRunningAsync("a");
        await cluster.WaitForRunningAsync("b");
        var pods = (await cluster.KubectlAsync("get", "pods", "-o", "wide", "--no-headers")).Succeeded().Stdout;

        Assert.Matches(@"(?m)^local-node\s+Ready\s+.*\s127\.0\.0\.1\s", nodes);
        Assert.Matches(@"(?m)^local-node-2\s+Ready\s+.*\s127\.0\.0\.2\s", nodes);
        // Each pod's own address, from its node's range: node 127.0.0.i gives 127.i.0.0/16.
        Assert.Matches(@"(?m)^a\s+1/1\s+Running\s+0\s+\S+\s+127\.1\.\d+\.\d+\s+local-node\s", pods);
        Assert.Matches(@"(?m)^b\s+1/1\s+Running\s+0\s+\S+\s+127\.2\.\d+\.\d+\s+local-node-2\s", pods);
    }

    [Fact]
    public async Task Heartbeat_Should_RenewTheLeaseAndTheReadyCondition_When_TheNodeIsAlive()
    {
        await using var cluster = await LocalNodesCluster.StartAsync(nodes: 1);

        var lease = (await cluster.KubectlAsync("get", "lease", "local-node", "-n", "kube-node-lease", "-o", "jsonpath={.spec.holderIdentity} {.spec.leaseDurationSeconds} {.spec.renewTime} {.metadata.ownerReferences[0].kind}")).Succeeded().Stdout.Split(' ');
        var beat = await cluster.JsonPathAsync("node", "local-node", "{.status.conditions[?(@.type==\"Ready\")].lastHeartbeatTime}");

        Assert.Equal("local-node", lease[0]);
        Assert.Equal("4", lease[1]);
        Assert.Equal("Node", lease[3]);
        await Eventually.TrueAsync(
            async () => Time((await cluster.KubectlAsync("get", "lease", "local-node", "-n", "kube-node-lease", "-o", "jsonpath={.spec.renewTime}")).Stdout) > Time(lease[2]).AddSeconds(1),
            "the lease renewed",
            TimeSpan.FromSeconds(15));
        await Eventually.TrueAsync(
            async () => Time(await cluster.JsonPathAsync("node", "local-node", "{.status.conditions[?(@.type==\"Ready\")].lastHeartbeatTime}")) > Time(beat),
            "the Ready condition's heartbeat renewed",
            TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task FreezeKill_Should_EvictAfterTolerationSecondsThenLoseTheNodeAndCollectThePod_When_TheNodeVanishes()
    {
        // The cloud double waits a few seconds, so that the taint manager acts before the Node goes.
        await using var cluster = await LocalNodesCluster.StartAsync(lifecycle: o => o with { CloudNodeDeletionDelay = TimeSpan.FromSeconds(TolerationSeconds + 3) });
        await cluster.CreateSleeperAsync("victim", node: "local-node-2", tolerationSeconds: TolerationSeconds);
        await cluster.WaitForRunningAsync("victim");
        var (pid, start) = await cluster.ProcessOfAsync("victim", "local-node-2");
        using var watch = cluster.WatchPod("victim");
        var frozenAt = DateTimeOffset.UtcNow;

        (await cluster.KubectlAsync("annotate", "node", "local-node-2", $"{Freeze}=kill")).Succeeded();

        await Eventually.TrueAsync(() => !ProcStat.StillRuns(pid, start), TimeSpan.FromSeconds(10), "the pod's process killed with the node");
        await Eventually.TrueAsync(
            async () => (await cluster.KubectlAsync("get", "node", "local-node-2", "--no-headers")).Stdout.Contains(" NotReady ", StringComparison.Ordinal),
            "local-node-2 NotReady",
            TimeSpan.FromSeconds(15));
        var unknownSince = Time(await cluster.JsonPathAsync("node", "local-node-2", "{.status.conditions[?(@.type==\"Ready\")].lastTransitionTime}"));
        var ready = await cluster.JsonPathAsync("node", "local-node-2", "{.status.conditions[?(@.type==\"Ready\")].status} {.status.conditions[?(@.type==\"Ready\")].reason}");
        var taint = await cluster.JsonPathAsync("node", "local-node-2", "{.spec.taints[?(@.effect==\"NoExecute\")].key} {.spec.taints[?(@.effect==\"NoExecute\")].timeAdded}");
        await Eventually.TrueAsync(
            async () => (await cluster.KubectlAsync("get", "pod", "victim", "--no-headers")).Stdout.Contains(" Terminating ", StringComparison.Ordinal),
            "victim Terminating",
            TimeSpan.FromSeconds(15));
        var disruption = (await cluster.JsonPathAsync("pod", "victim", "{.status.conditions[?(@.type==\"DisruptionTarget\")].reason} {.status.conditions[?(@.type==\"DisruptionTarget\")].lastTransitionTime}")).Split(' ');
        await Eventually.TrueAsync(
            async () => (await cluster.KubectlAsync("get", "node", "local-node-2")).Stderr.Contains("NotFound", StringComparison.Ordinal),
            "local-node-2 deleted by the cloud double",
            TimeSpan.FromSeconds(15));
        await Eventually.TrueAsync(() => watch.Lines.Any(l => l.StartsWith("DELETED", StringComparison.Ordinal)), TimeSpan.FromSeconds(15), "victim removed by pod GC");

        Assert.Equal("Unknown NodeStatusUnknown", ready);
        Assert.InRange((unknownSince - frozenAt).TotalSeconds, 4 - 1 - 1, 4 + 3); // grace 4 s after a heartbeat at most 1 s old
        Assert.Equal("node.kubernetes.io/unreachable", taint.Split(' ')[0]);
        Assert.Equal("DeletionByTaintManager", disruption[0]);
        Assert.InRange((Time(disruption[1]) - Time(taint.Split(' ')[1])).TotalSeconds, TolerationSeconds - 1, TolerationSeconds + 2);
        Assert.Equal("DELETED Failed DeletionByPodGC", watch.Lines.First(l => l.StartsWith("DELETED", StringComparison.Ordinal)));
        Assert.Equal("Ready", (await cluster.KubectlAsync("get", "node", "local-node", "--no-headers")).Stdout.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
    }

    [Fact]
    public async Task FreezeKeep_Should_KeepTheProcessRunningUntilUnfrozen_When_ThePodIsEvictedDuringAPartition()
    {
        await using var cluster = await LocalNodesCluster.StartAsync();
        await cluster.CreateSleeperAsync("zombie", node: "local-node-2", tolerationSeconds: TolerationSeconds);
        await cluster.WaitForRunningAsync("zombie");
        var (pid, start) = await cluster.ProcessOfAsync("zombie", "local-node-2");

        (await cluster.KubectlAsync("annotate", "node", "local-node-2", $"{Freeze}=keep")).Succeeded();

        await Eventually.TrueAsync(
            async () => (await cluster.KubectlAsync("get", "pod", "zombie", "--no-headers")).Stdout.Contains(" Terminating ", StringComparison.Ordinal),
            "zombie Terminating after eviction",
            TimeSpan.FromSeconds(20));
        var evictedAt = DateTime.UtcNow;
        var disruption = await cluster.JsonPathAsync("pod", "zombie", "{.status.conditions[?(@.type==\"DisruptionTarget\")].reason}");
        // Nobody confirms the deletion: the pod stays Terminating and its process runs on, well past the pod's grace period
        // of 5 s.
        while (DateTime.UtcNow < evictedAt.AddSeconds(7))
        {
            Assert.True(ProcStat.StillRuns(pid, start), "the partitioned node's process keeps running");
            Assert.Contains(" Terminating ", (await cluster.KubectlAsync("get", "pod", "zombie", "--no-headers")).Stdout, StringComparison.Ordinal);
            await Task.Delay(500);
        }

        Assert.Contains(" NotReady ", (await cluster.KubectlAsync("get", "node", "local-node-2", "--no-headers")).Stdout, StringComparison.Ordinal);
        Assert.Equal("DeletionByTaintManager", disruption);
        Assert.Matches(@"Normal\s+TaintManagerEviction\s+.*taint-eviction-controller\s+Marking for deletion Pod default/zombie", (await cluster.KubectlAsync("describe", "pod", "zombie")).Stdout);

        (await cluster.KubectlAsync("annotate", "node", "local-node-2", $"{Freeze}-")).Succeeded();

        await Eventually.TrueAsync(() => !ProcStat.StillRuns(pid, start), TimeSpan.FromSeconds(20), "the agent kills the evicted pod's process once unfrozen");
        await Eventually.TrueAsync(
            async () => (await cluster.KubectlAsync("get", "pod", "zombie")).Stderr.Contains("NotFound", StringComparison.Ordinal),
            "the agent finalizes the pod",
            TimeSpan.FromSeconds(20));
        await Eventually.TrueAsync(
            async () => (await cluster.KubectlAsync("get", "node", "local-node-2", "--no-headers")).Stdout.Contains(" Ready ", StringComparison.Ordinal)
                && await cluster.JsonPathAsync("node", "local-node-2", "{.spec.taints}") == "",
            "local-node-2 Ready and untainted again",
            TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task Scheduler_Should_KeepAPodPendingUnschedulable_When_NoReadyNodeToleratesIt_AndBindItOnceOneDoes()
    {
        await using var cluster = await LocalNodesCluster.StartAsync();
        (await cluster.KubectlAsync("annotate", "node", "local-node-2", $"{Freeze}=keep")).Succeeded();
        await Eventually.TrueAsync(
            async () => (await cluster.KubectlAsync("get", "node", "local-node-2", "--no-headers")).Stdout.Contains(" NotReady ", StringComparison.Ordinal),
            "local-node-2 NotReady",
            TimeSpan.FromSeconds(15));
        (await cluster.KubectlAsync("taint", "nodes", "local-node", "dedicated=other:NoSchedule")).Succeeded();

        await cluster.CreateSleeperAsync("waiting");

        await Eventually.TrueAsync(
            async () => await cluster.JsonPathAsync("pod", "waiting", "{.status.conditions[?(@.type==\"PodScheduled\")].reason}") == "Unschedulable",
            "waiting Unschedulable",
            TimeSpan.FromSeconds(10));
        var pending = (await cluster.KubectlAsync("get", "pod", "waiting", "-o", "wide", "--no-headers")).Succeeded().Stdout;
        var message = await cluster.JsonPathAsync("pod", "waiting", "{.status.conditions[?(@.type==\"PodScheduled\")].message}");
        Assert.Matches(@"^waiting\s+0/1\s+Pending\s+0\s+\S+\s+<none>\s+<none>\s", pending);
        Assert.Contains("0/2 nodes are available", message, StringComparison.Ordinal);
        Assert.Contains("untolerated taint {dedicated: other}", message, StringComparison.Ordinal);

        (await cluster.KubectlAsync("annotate", "node", "local-node-2", $"{Freeze}-")).Succeeded();

        await cluster.WaitForRunningAsync("waiting");
        Assert.Equal("local-node-2", await cluster.JsonPathAsync("pod", "waiting", "{.spec.nodeName}"));
        Assert.Equal("True", await cluster.JsonPathAsync("pod", "waiting", "{.status.conditions[?(@.type==\"PodScheduled\")].status}"));
        var described = (await cluster.KubectlAsync("describe", "pod", "waiting")).Succeeded().Stdout;
        Assert.Matches(@"Warning\s+FailedScheduling\s+.*default-scheduler\s+0/2 nodes are available", described);
        Assert.Matches(@"Normal\s+Scheduled\s+.*default-scheduler\s+Successfully assigned default/waiting to local-node-2", described);
    }
}
