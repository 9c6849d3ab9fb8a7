using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using k8s;
using k8s.Models;

namespace K8sTraining.Operator.Tests.Integration;

/// <summary>
/// Multi-worker jobs through the real operator and the local node agent (issue 18), with shell-script workers: all
/// workers and the headless Service created together, one evicted worker replacing the whole gang (never more pods
/// present than workers, counted as one preemption), one failed worker counted as one restart, and the gang start
/// timeout tearing down and retrying.
/// </summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "Integration")]
public sealed class GangOnTheClusterTests(ClusterFixture cluster)
{
    /// <summary>Attempt 1 runs until SIGTERM, then "checkpoints" (exit 75); attempt 2 completes.</summary>
    private const string StopOnTermThenComplete = """if [ "$TRAINER_ATTEMPT" = 1 ]; then trap 'exit 75' TERM; while true; do sleep 0.1; done; fi; exit 0""";

    [Fact]
    public async Task Operator_Should_ReplaceTheWholeGangWithNeverMorePodsThanWorkers_When_OneWorkerIsEvicted()
    {
        var ns = await cluster.NewNamespaceAsync("gang-evict");
        await using var op = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-gang-evict");
        await cluster.CreateJobAsync(ClusterFixture.ScriptJob(ns, "ddp", StopOnTermThenComplete, s => s.Workers = 2));
        using var present = new PodCensus(cluster.Client, ns, _ => true);

        var running = await cluster.WaitForJobAsync(ns, "ddp", j => j.Status?.Phase == JobPhases.Running, "Running", TimeSpan.FromSeconds(60));
        Assert.Equal("2/2", running.Status!.WorkersReady);
        var pods = (await cluster.PodsAsync(ns)).OrderBy(p => p.Metadata.Name, StringComparer.Ordinal).ToList();
        Assert.Equal(["ddp-attempt-1-worker-0", "ddp-attempt-1-worker-1"], pods.Select(p => p.Metadata.Name));
        var service = await cluster.Client.CoreV1.ReadNamespacedServiceAsync("ddp-workers", ns);
        Assert.Equal(("None", true), (service.Spec.ClusterIP, service.Spec.PublishNotReadyAddresses == true));
        Assert.Equal(running.Metadata.Uid, service.Metadata.OwnerReferences.Single().Uid);
        foreach (var (pod, rank) in pods.Select((p, i) => (p, i)))
        {
            var env = pod.Spec.Containers.Single().Env.Where(e => e.Value is not null).ToDictionary(e => e.Name, e => e.Value);
            Assert.Equal(("2", $"{rank}", "ddp-attempt-1-worker-0.ddp-workers", "29500"), (env[DistributedEnvironment.WorldSize], env[DistributedEnvironment.Rank], env[DistributedEnvironment.MasterAddress], env[DistributedEnvironment.MasterPort]));
            Assert.Equal((pod.Metadata.Name, "ddp-workers"), (pod.Spec.Hostname, pod.Spec.Subdomain));
        }

        var (code, _, stderr) = await cluster.KubectlAsync("get", "trainingjobs", "-n", ns);
        Assert.True(code == 0, stderr);
        await cluster.Client.CoreV1.CreateNamespacedPodEvictionAsync(new V1Eviction { Metadata = new V1ObjectMeta { Name = "ddp-attempt-1-worker-1", NamespaceProperty = ns } }, "ddp-attempt-1-worker-1", ns);

        var done = await cluster.WaitForJobAsync(ns, "ddp", j => j.Status?.Phase is JobPhases.Succeeded or JobPhases.Failed, "finished", TimeSpan.FromSeconds(90));
        Assert.True(done.Status!.Phase == JobPhases.Succeeded, $"{done.Status.Phase}: {done.Status.LastTermination?.Message}");
        Assert.Equal((2, 1, 0), (done.Status.Attempt, done.Status.Preemptions, done.Status.Restarts));
        Assert.True(present.MaxAliveAtOnce <= 2, $"{present.MaxAliveAtOnce} pods of a 2-worker job were present at once");
        Assert.Equal(["ddp-attempt-2-worker-0", "ddp-attempt-2-worker-1"], (await cluster.PodsAsync(ns)).Select(p => p.Metadata.Name).Order(StringComparer.Ordinal));
        var events = (await cluster.EventsAsync(ns)).Where(e => e.InvolvedObject.Name == "ddp").Select(e => e.Reason).ToList();
        Assert.Contains(EventReasons.GangTeardown, events);
        Assert.Single(events, r => r == EventReasons.Preempted);
    }

    [Fact]
    public async Task Operator_Should_CountOneRestart_When_OneWorkerFails()
    {
        var ns = await cluster.NewNamespaceAsync("gang-fail");
        await using var op = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-gang-fail");
        // Attempt 1: worker 1 crashes; worker 0, told to stop, reports its peer lost (77). Attempt 2 completes.
        const string script = """if [ "$TRAINER_ATTEMPT" = 1 ] && [ "$RANK" = 1 ]; then sleep 1; exit 1; fi; if [ "$TRAINER_ATTEMPT" = 1 ]; then trap 'exit 77' TERM; while true; do sleep 0.1; done; fi; exit 0""";
        await cluster.CreateJobAsync(ClusterFixture.ScriptJob(ns, "ddp", script, s => s.Workers = 2));

        var done = await cluster.WaitForJobAsync(ns, "ddp", j => j.Status?.Phase is JobPhases.Succeeded or JobPhases.Failed, "finished", TimeSpan.FromSeconds(90));

        Assert.True(done.Status!.Phase == JobPhases.Succeeded, $"{done.Status.Phase}: {done.Status.LastTermination?.Message}");
        Assert.Equal((2, 0, 1), (done.Status.Attempt, done.Status.Preemptions, done.Status.Restarts));
        var failed = (await cluster.EventsAsync(ns)).Where(e => e.Reason == EventReasons.AttemptFailed).ToList();
        Assert.Single(failed);
        Assert.Contains("ddp-attempt-1-worker-1", failed[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Operator_Should_TearDownAndRetryWithBackoff_When_TheGangDoesNotStartInTime()
    {
        var ns = await cluster.NewNamespaceAsync("gang-start");
        await using var op = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-gang-start");
        await cluster.CreateJobAsync(ClusterFixture.ScriptJob(ns, "ddp", "exit 0", s =>
        {
            s.Workers = 2;
            s.Gang = new GangSpec { StartTimeoutSeconds = 2 };
            s.NodeSelector = new Dictionary<string, string> { ["k8straining.test/no-such-node"] = "true" };
        }));

        var retried = await cluster.WaitForJobAsync(ns, "ddp", j => j.Status is { Attempt: >= 2, GangStartTimeouts: >= 1 }, "a retry after the start timeout", TimeSpan.FromSeconds(60));

        Assert.Equal(AttemptOutcomes.GangStartTimeout, retried.Status!.LastTermination?.Outcome);
        Assert.Equal((0, 0), (retried.Status.Restarts, retried.Status.Preemptions));
        var timeouts = await Eventually.GetAsync(
            async () => (await cluster.EventsAsync(ns)).Where(e => e.Reason == EventReasons.GangStartTimeout).ToList(),
            es => es.Count >= 1,
            TimeSpan.FromSeconds(30),
            "the GangStartTimeout Event");
        Assert.Contains("0 of 2 workers were Running", timeouts[0].Message, StringComparison.Ordinal);

        // The nodes fit again: the next attempt's gang starts and completes.
        await cluster.KubectlOkAsync("patch", "trainingjob", "ddp", "-n", ns, "--type=json", "-p", """[{"op":"remove","path":"/spec/nodeSelector"},{"op":"replace","path":"/spec/gang/startTimeoutSeconds","value":15}]""");
        var done = await cluster.WaitForJobAsync(ns, "ddp", j => j.Status?.Phase == JobPhases.Succeeded, "Succeeded once the nodes fit", TimeSpan.FromSeconds(90));
        Assert.Equal(0, done.Status!.Restarts);
    }
}
