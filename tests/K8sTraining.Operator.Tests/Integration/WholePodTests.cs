using K8sTraining.Operator.Api;
using k8s;
using k8s.Models;

namespace K8sTraining.Operator.Tests.Integration;

/// <summary>
/// The next attempt waits for the whole pod (issue 17): a trainer that exits while its native sidecar still stops (a
/// checkpoint-sync sidecar flushing its last upload takes seconds) does not end the attempt. Through the real operator
/// and the local node agent, every pod event of the namespace is recorded from a watch; the replacement must appear
/// only once the old pod is terminal, and never two pods of the job may be alive at once.
/// </summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "Integration")]
public sealed class WholePodTests(ClusterFixture cluster)
{
    /// <summary>A sidecar that, on SIGTERM, takes 3 s before it exits, as a sidecar still uploading would.</summary>
    private const string SlowSidecar = "trap 'sleep 3; exit 0' TERM; while true; do sleep 0.1; done";

    [Fact]
    public async Task Operator_Should_CreateTheReplacementOnlyAfterTheOldPodIsTerminal_When_ASidecarOutlivesTheTrainer()
    {
        var ns = await cluster.NewNamespaceAsync("wholepod");
        using var stopWatching = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var events = new List<(WatchEventType Type, V1Pod Pod)>();
        var watching = WatchAsync(ns, events, stopWatching.Token);
        await using var op = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-wholepod");
        await cluster.CreateJobAsync(ClusterFixture.ScriptJob(ns, "slow", """if [ "$TRAINER_ATTEMPT" = 1 ]; then exit 75; fi; exit 0""", s =>
            s.Sidecars = [new V1Container { Name = "uploader", Image = ClusterFixture.ScriptImage, Env = [new V1EnvVar { Name = "TEST_SCRIPT", Value = SlowSidecar }] }]));

        var job = await cluster.WaitForJobAsync(ns, "slow", j => j.Status?.Phase is JobPhases.Succeeded or JobPhases.Failed, "finished", TimeSpan.FromSeconds(90));
        await stopWatching.CancelAsync();
        await watching;

        Assert.True(job.Status!.Phase == JobPhases.Succeeded, $"the job did not succeed: {job.Status.LastTermination?.Message}");
        Assert.Equal((2, 1), (job.Status.Attempt, job.Status.Preemptions));
        List<(WatchEventType Type, V1Pod Pod)> seen;
        lock (events)
        {
            seen = [.. events];
        }

        // The race was there to lose: attempt 1's trainer had exited while its sidecar still ran.
        Assert.Contains(seen, e => e.Pod.Metadata.Name == "slow-attempt-1"
            && e.Pod.Status?.ContainerStatuses?.SingleOrDefault()?.State?.Terminated is not null
            && e.Pod.Status.InitContainerStatuses?.SingleOrDefault()?.State?.Running is not null);

        // Replay the events in order: at no point are two pods of the job alive, and the replacement appears only after
        // the old pod is terminal (phase Succeeded/Failed, its sidecar stopped) or gone.
        var last = new Dictionary<string, V1Pod?>(StringComparer.Ordinal);
        foreach (var (type, pod) in seen)
        {
            if (type == WatchEventType.Added && pod.Metadata.Name == "slow-attempt-2")
            {
                Assert.True(last.TryGetValue("slow-attempt-1", out var old) && (old is null || Terminal(old)),
                    $"attempt 2 was created while attempt 1 was {Describe(old)}");
            }

            last[pod.Metadata.Name] = type == WatchEventType.Deleted ? null : pod;
            var alive = last.Values.Where(p => p is not null && !Terminal(p)).Select(p => p!.Metadata.Name).ToList();
            Assert.True(alive.Count <= 1, $"two pods alive at once: {string.Join(", ", alive)}");
        }

        Assert.Contains("slow-attempt-2", last.Keys);
        var first = last["slow-attempt-1"];
        Assert.True(first is null || first.Status.InitContainerStatuses.Single().State.Terminated is not null, "attempt 1's sidecar never stopped");
    }

    private static bool Terminal(V1Pod pod) => pod.Status?.Phase is "Succeeded" or "Failed";

    private static string Describe(V1Pod? pod) =>
        pod is null ? "gone" : $"phase {pod.Status?.Phase}, sidecar {(pod.Status?.InitContainerStatuses?.SingleOrDefault()?.State?.Running is null ? "stopped" : "running")}";

    private async Task WatchAsync(string ns, List<(WatchEventType, V1Pod)> events, CancellationToken stop)
    {
        try
        {
            await foreach (var (type, pod) in cluster.Client.CoreV1.WatchListNamespacedPodAsync(ns, timeoutSeconds: 120, cancellationToken: stop))
            {
                lock (events)
                {
                    events.Add((type, pod));
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or HttpRequestException or IOException && stop.IsCancellationRequested)
        {
            // The test has seen what it needs.
        }
    }
}
