using K8sTraining.Operator.Api;
using k8s;
using k8s.Models;

namespace K8sTraining.Operator.Tests.Integration;

/// <summary>Crashes, dropped watches and two replicas: the operator must carry on and never double a pod.</summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "Integration")]
public sealed class OperatorResilienceTests(ClusterFixture cluster)
{
    private const string WaitForGoFile = "trap 'exit 75' TERM; while [ ! -f \"$GO_FILE\" ]; do sleep 0.1; done; exit 0";

    [Fact]
    public async Task Operator_Should_CarryOnWithoutADuplicatePod_When_KilledAndRestartedMidway()
    {
        var ns = await cluster.NewNamespaceAsync("restart");
        var go = Path.Combine(Path.GetTempPath(), $"go-{Guid.NewGuid():N}");
        var first = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-first");
        await cluster.CreateJobAsync(ClusterFixture.ScriptJob(ns, "steady", WaitForGoFile, s => s.Env!.Add(new V1EnvVar { Name = "GO_FILE", Value = go })));
        await cluster.WaitForJobAsync(ns, "steady", j => j.Status?.Phase == JobPhases.Running, "Running");

        await first.KillAsync();
        await first.DisposeAsync();
        await using var second = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-second");
        await second.WaitReadyAndLeadingAsync();

        // The new operator adopts what it finds: still attempt 1, still one pod.
        var job = await cluster.GetJobAsync(ns, "steady");
        Assert.Equal(1, job.Status!.Attempt);
        Assert.Equal(["steady-attempt-1"], (await cluster.PodsAsync(ns)).Select(p => p.Metadata.Name));

        await File.WriteAllTextAsync(go, "go");
        var done = await cluster.WaitForJobAsync(ns, "steady", j => j.Status?.Phase == JobPhases.Succeeded, "Succeeded");
        Assert.Equal(1, done.Status!.Attempt);
        Assert.Equal(0, done.Status.Preemptions + done.Status.Restarts);
        File.Delete(go);
    }

    [Fact]
    public async Task Operator_Should_RecoverItsWatches_When_TheConnectionsDrop()
    {
        var ns = await cluster.NewNamespaceAsync("dropped");
        await using var proxy = new TcpProxy(cluster.Plane.BaseUri.Port);
        var kubeconfig = Path.Combine(Path.GetTempPath(), $"kubeconfig-proxy-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(kubeconfig, (await File.ReadAllTextAsync(cluster.Plane.KubeconfigPath)).Replace($"127.0.0.1:{cluster.Plane.BaseUri.Port}", $"127.0.0.1:{proxy.Port}", StringComparison.Ordinal));
        await using var op = OperatorProcess.Start(kubeconfig, ns, "op-dropped", "--watch-timeout-seconds", "300");
        await op.WaitReadyAndLeadingAsync();

        proxy.DropAll();
        await cluster.CreateJobAsync(ClusterFixture.ScriptJob(ns, "after-drop", "exit 0"));

        var job = await cluster.WaitForJobAsync(ns, "after-drop", j => j.Status?.Phase == JobPhases.Succeeded, "Succeeded after the watches were cut");
        Assert.True(proxy.Dropped > 0);
        Assert.Equal(1, job.Status!.Attempt);
        var info = await op.LeaderInfoAsync();
        Assert.True(info!.Value.GetProperty("watchRestarts").GetInt32() > 0, op.Output);
        File.Delete(kubeconfig);
    }

    [Fact]
    public async Task Operator_Should_HaveExactlyOneActiveReplica_When_TwoRunWithLeaderElection()
    {
        var ns = await cluster.NewNamespaceAsync("leader");
        string[] election = ["--leader-elect", "true", "--leader-election-namespace", ns, "--lease-duration-seconds", "4", "--renew-deadline-seconds", "3", "--retry-period-seconds", "1"];
        var a = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "replica-a", election);
        await using var b = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "replica-b", election);

        var lease = await Eventually.GetAsync(
            () => cluster.Client.CoordinationV1.ReadNamespacedLeaseAsync("k8s-training-operator", ns),
            l => !string.IsNullOrEmpty(l.Spec?.HolderIdentity),
            "a lease holder");
        var leader = lease.Spec.HolderIdentity == "replica-a" ? a : b;
        var follower = leader == a ? b : a;
        await leader.WaitReadyAndLeadingAsync();
        var followerInfo = await Eventually.GetAsync(follower.LeaderInfoAsync, i => i is not null, TimeSpan.FromSeconds(30), "the follower's /leader");
        Assert.False(followerInfo!.Value.GetProperty("isLeader").GetBoolean());
        await Eventually.GetAsync(() => follower.GetStatusAsync("/readyz"), c => c == System.Net.HttpStatusCode.OK, TimeSpan.FromSeconds(30), "the follower to be ready");

        await cluster.CreateJobAsync(ClusterFixture.ScriptJob(ns, "one", "exit 0"));
        await cluster.WaitForJobAsync(ns, "one", j => j.Status?.Phase == JobPhases.Succeeded, "Succeeded under the leader");
        Assert.DoesNotContain("Created pod", follower.Output, StringComparison.Ordinal);

        // The leader dies; the follower takes over within the lease duration and does the work.
        await leader.KillAsync();
        await follower.WaitReadyAndLeadingAsync(TimeSpan.FromSeconds(30));
        await cluster.CreateJobAsync(ClusterFixture.ScriptJob(ns, "two", "exit 0"));
        await cluster.WaitForJobAsync(ns, "two", j => j.Status?.Phase == JobPhases.Succeeded, "Succeeded under the new leader");
        Assert.Equal(follower.Identity, (await cluster.Client.CoordinationV1.ReadNamespacedLeaseAsync("k8s-training-operator", ns)).Spec.HolderIdentity);
        await a.DisposeAsync();
    }
    [Fact]
    public async Task Operator_Should_ReleaseItsLease_When_StoppedGracefully()
    {
        // A lease of 60 s: without the release, the standby would wait a minute before it could lead.
        var ns = await cluster.NewNamespaceAsync("release");
        string[] election = ["--leader-elect", "true", "--leader-election-namespace", ns, "--lease-duration-seconds", "60", "--renew-deadline-seconds", "40", "--retry-period-seconds", "1"];
        var a = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "replica-a", election);
        await a.WaitReadyAndLeadingAsync();
        await using var b = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "replica-b", election);
        await Eventually.GetAsync(() => b.GetStatusAsync("/readyz"), c => c == System.Net.HttpStatusCode.OK, TimeSpan.FromSeconds(30), "the standby to be ready");
        var before = await cluster.Client.CoordinationV1.ReadNamespacedLeaseAsync("k8s-training-operator", ns);
        Assert.Equal("replica-a", before.Spec.HolderIdentity);

        var stopped = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal(0, await a.StopAsync(TimeSpan.FromSeconds(30)));
        Assert.True(a.Output.Contains("replica-a released lease", StringComparison.Ordinal), a.Output);
        await b.WaitReadyAndLeadingAsync(TimeSpan.FromSeconds(30));
        Assert.True(stopped.Elapsed < TimeSpan.FromSeconds(30), $"the standby took {stopped.Elapsed} to lead");
        var after = await cluster.Client.CoordinationV1.ReadNamespacedLeaseAsync("k8s-training-operator", ns);
        Assert.Equal("replica-b", after.Spec.HolderIdentity);
        Assert.Equal((before.Spec.LeaseTransitions ?? 0) + 1, after.Spec.LeaseTransitions ?? 0);
        await a.DisposeAsync();
    }
}
