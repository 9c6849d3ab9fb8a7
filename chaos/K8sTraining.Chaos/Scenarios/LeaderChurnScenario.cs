using System.Diagnostics;
using System.Globalization;
using K8sTraining.Chaos.Cluster;
using K8sTraining.Chaos.Runner;
using K8sTraining.ClusterSupport;
using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Reconciliation;
using k8s;
using k8s.Models;

namespace K8sTraining.Chaos.Scenarios;

/// <summary>
/// §2 of issue 19, "leader churn": two or three operator replicas with leader election on a short Lease, and jobs that
/// start, succeed and fail-then-retry while the leader is SIGKILLed every few seconds (and a new replica started in its
/// place). Invariants: one leader at a time (from the Lease's writes in the API server's audit log: a take-over only
/// once the lease expired, and every other operator write from the replica that held the lease at that moment; the
/// replicas' /leader never show two leaders in one look), every job ends as it would without the churn (Succeeded, its
/// attempts, restarts and preemptions exact), and never two live pods of one job.
/// </summary>
public sealed class LeaderChurnScenario : IChaosScenario
{
    private const double Share = 0.05;
    private const string LeaseName = "k8s-training-operator";
    private static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(4);
    private static readonly TimeSpan Tolerance = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan JobDeadline = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan LeaderWait = TimeSpan.FromSeconds(30);

    public string Name => "leader churn";

    public async Task<ScenarioResult> RunAsync(ChaosContext context, CancellationToken cancellationToken)
    {
        var result = new ScenarioResult(Name);
        var until = context.SliceDeadline(Share);
        // The subset churns for about 15 s; the full profile for what its slice leaves after the jobs' tail.
        var churnUntil = context.IsSubset ? DateTime.UtcNow + TimeSpan.FromSeconds(15) : until - TimeSpan.FromSeconds(12);
        var replicaCount = context.IsSubset ? 2 : context.Pick(2, 4);
        await using var cluster = await LocalTestCluster.StartAsync(new LocalTestClusterOptions(), cancellationToken);
        result.Runs++;
        var ns = await cluster.NewNamespaceAsync("chaos-churn");
        var replicas = new Replicas(cluster.KubeconfigPath, ns);
        try
        {
            for (var i = 0; i < replicaCount; i++)
            {
                replicas.StartOne();
            }

            var story = new ChurnStory(context, cluster, ns);
            using var census = new JobPodCensus(cluster.Client, ns);
            using var looks = new LeaderLooks(replicas);
            var kills = new List<(string Identity, long At)>();
            await story.CreateNextAsync(cancellationToken);
            while (DateTime.UtcNow < churnUntil)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var leader = await LiveLeaderAsync(cluster, ns, replicas, cancellationToken);
                if (leader is null)
                {
                    result.Violation($"no live replica held the lease within {LeaderWait.TotalSeconds:0} s ({result.Interruptions} kills so far)");
                    break;
                }
                // The leader works a random while (a job created meanwhile), then dies.
                await Task.Delay(context.Pick(500, 2500), cancellationToken);
                await story.CreateNextAsync(cancellationToken);
                await leader.KillAsync();
                kills.Add((leader.Identity, Stopwatch.GetTimestamp()));
                result.Interruptions++;
                replicas.StartOne();
            }

            var ends = await story.WaitForAllAsync(JobDeadline, cancellationToken);
            // SIGKILL, not SIGTERM: a graceful stop releases the lease, and the history has no releases to explain.
            await replicas.KillAllAsync();
            census.Stop();
            looks.Stop();

            foreach (var problem in story.Check(ends))
            {
                result.Violation(problem);
            }
            if (census.Problem is { } twice)
            {
                result.Violation(twice);
            }
            if (looks.Problem is { } two)
            {
                result.Violation(two);
            }
            var writes = OperatorWrites(cluster, ns);
            foreach (var problem in LeaderHistory.Check(writes, LeaseName, LeaseDuration, Tolerance))
            {
                result.Violation(problem);
            }
            var terms = LeaderHistory.Terms(writes, LeaseName);
            foreach (var (identity, at) in kills)
            {
                var killedAt = DateTimeOffset.UtcNow - Stopwatch.GetElapsedTime(at);
                if (terms.FirstOrDefault(t => t.Identity != identity && t.From > killedAt) is { } next)
                {
                    result.RecoverySeconds.Add((next.From - killedAt).TotalSeconds);
                }
            }
            if (writes.Count(w => !w.Resource.Equals(LeaderHistory.LeaseResource, StringComparison.Ordinal)) == 0)
            {
                result.Violation("no operator write was attributed to a replica: the User-Agent names no identity");
            }
            result.Notes.Add(string.Create(CultureInfo.InvariantCulture,
                $"{replicaCount} replicas, {terms.Count} lease terms ({string.Join(" -> ", terms.Select(t => t.Identity))}), {writes.Count} operator writes checked, {story.Created} jobs"));
        }
        finally
        {
            await replicas.KillAllAsync();
            await ClusterEvidence.CollectAsync(context, cluster, ns, replicas.All);
            await replicas.DisposeAsync();
        }
        return result;
    }

    /// <summary>The live replica that holds the lease, once one does (a take-over waits for the lease to expire).</summary>
    private static async Task<OperatorProcess?> LiveLeaderAsync(LocalTestCluster cluster, string ns, Replicas replicas, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + LeaderWait;
        while (DateTime.UtcNow < deadline)
        {
            if (await HolderAsync(cluster, ns) is { } holder && replicas.Find(holder) is { HasExited: false } leader)
            {
                return leader;
            }
            await Task.Delay(100, cancellationToken);
        }
        return null;
    }

    private static async Task<string?> HolderAsync(LocalTestCluster cluster, string ns)
    {
        try
        {
            var lease = await cluster.Client.CoordinationV1.ReadNamespacedLeaseAsync(LeaseName, ns);
            return string.IsNullOrEmpty(lease.Spec.HolderIdentity) ? null : lease.Spec.HolderIdentity;
        }
        catch (k8s.Autorest.HttpOperationException)
        {
            return null;
        }
    }

    /// <summary>The operator replicas' write requests in the namespace, told apart by their User-Agent.</summary>
    private static List<OperatorWrite> OperatorWrites(LocalTestCluster cluster, string ns) =>
        cluster.Plane.AuditLog.Entries
            .Where(e => e.Namespace == ns && LeaderHistory.IsWrite(e.Verb))
            .Select(e => (Entry: e, Identity: OperatorUserAgent.IdentityOf(e.UserAgent)))
            .Where(x => x.Identity is not null)
            .Select(x => new OperatorWrite(x.Entry.Time, x.Identity!, x.Entry.Verb, x.Entry.Resource, x.Entry.Name, x.Entry.Code))
            .ToList();

    /// <summary>The live and dead replicas; each new one gets a new identity, as a Deployment's new pod would.</summary>
    private sealed class Replicas(string kubeconfig, string ns) : IAsyncDisposable
    {
        private readonly List<OperatorProcess> all = [];

        public IReadOnlyList<OperatorProcess> All => all;

        public OperatorProcess StartOne()
        {
            var identity = $"replica-{all.Count + 1}";
            var replica = OperatorProcess.Start(kubeconfig, ns, identity,
                "--leader-elect", "true", "--leader-election-namespace", ns,
                "--lease-duration-seconds", ((int)LeaseDuration.TotalSeconds).ToString(CultureInfo.InvariantCulture),
                "--renew-deadline-seconds", "3", "--retry-period-seconds", "1");
            all.Add(replica);
            return replica;
        }

        public OperatorProcess? Find(string identity) => all.LastOrDefault(r => r.Identity == identity);

        public async Task KillAllAsync()
        {
            foreach (var r in all.Where(r => !r.HasExited))
            {
                await r.KillAsync();
            }
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var r in all)
            {
                await r.DisposeAsync();
            }
        }
    }

    /// <summary>Polls every live replica's /leader every 200 ms: two that say they lead in one look are two leaders.</summary>
    private sealed class LeaderLooks : IDisposable
    {
        private readonly CancellationTokenSource stop = new();
        private readonly Task loop;

        public LeaderLooks(Replicas replicas)
        {
            loop = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    var leading = new List<string>();
                    foreach (var r in replicas.All.ToList().Where(r => !r.HasExited))
                    {
                        if (await r.LeaderInfoAsync() is { } info && info.TryGetProperty("isLeader", out var isLeader) && isLeader.GetBoolean() && !r.HasExited)
                        {
                            leading.Add(r.Identity);
                        }
                    }
                    if (leading.Count > 1 && Problem is null)
                    {
                        Problem = $"{string.Join(" and ", leading)} said they lead in one look at /leader";
                    }
                    try
                    {
                        await Task.Delay(200, stop.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }
            });
        }

        public string? Problem { get; private set; }

        public void Stop()
        {
            if (!stop.IsCancellationRequested)
            {
                stop.Cancel();
                loop.Wait(TimeSpan.FromSeconds(5));
            }
        }

        public void Dispose()
        {
            Stop();
            stop.Dispose();
        }
    }

    /// <summary>
    /// The jobs created during the churn, one every round: most run a second and succeed; every third fails its first
    /// attempt and succeeds on the retry. Each must end Succeeded with exactly the attempts and restarts that implies.
    /// </summary>
    private sealed class ChurnStory(ChaosContext context, LocalTestCluster cluster, string ns)
    {
        private readonly List<(string Name, bool FailsOnce)> jobs = [];

        public int Created => jobs.Count;

        public async Task CreateNextAsync(CancellationToken cancellationToken)
        {
            var failsOnce = jobs.Count % 3 == 2;
            var name = $"churn-{jobs.Count + 1}";
            var seconds = (context.Pick(5, 20) / 10.0).ToString("0.0", CultureInfo.InvariantCulture);
            var script = failsOnce
                ? $"sleep {seconds}; [ \"${TrainerEnvironment.Attempt}\" = 1 ] && exit 1; exit 0"
                : $"sleep {seconds}; exit 0";
            await cluster.CreateJobAsync(LocalTestCluster.ScriptJob(ns, name, script, s => s.RestartBackoffSeconds = 1));
            jobs.Add((name, failsOnce));
            cancellationToken.ThrowIfCancellationRequested();
        }

        public async Task<Dictionary<string, TrainingJob?>> WaitForAllAsync(TimeSpan timeout, CancellationToken cancellationToken)
        {
            var deadline = DateTime.UtcNow + timeout;
            var ends = jobs.ToDictionary(j => j.Name, _ => (TrainingJob?)null, StringComparer.Ordinal);
            while (DateTime.UtcNow < deadline && ends.Values.Any(j => j?.Status?.Phase is not (JobPhases.Succeeded or JobPhases.Failed)))
            {
                foreach (var name in ends.Keys.ToList())
                {
                    try
                    {
                        ends[name] = await cluster.GetJobAsync(ns, name);
                    }
                    catch (k8s.Autorest.HttpOperationException)
                    {
                    }
                }
                await Task.Delay(250, cancellationToken);
            }
            return ends;
        }

        public IEnumerable<string> Check(Dictionary<string, TrainingJob?> ends)
        {
            foreach (var (name, failsOnce) in jobs)
            {
                var s = ends[name]?.Status;
                var expected = (Phase: JobPhases.Succeeded, Attempt: failsOnce ? 2 : 1, Restarts: failsOnce ? 1 : 0, Preemptions: 0);
                var actual = (Phase: s?.Phase, Attempt: s?.Attempt ?? 0, Restarts: s?.Restarts ?? 0, Preemptions: s?.Preemptions ?? 0);
                if (actual != expected)
                {
                    yield return $"{name}{(failsOnce ? " (fails once)" : "")} ended (phase {actual.Phase}, attempt {actual.Attempt}, restarts {actual.Restarts}, preemptions {actual.Preemptions}), not {expected}";
                }
            }
        }
    }

    /// <summary>Polls the namespace's pods every 50 ms: never two pods of one job alive at once.</summary>
    private sealed class JobPodCensus : IDisposable
    {
        private readonly CancellationTokenSource stop = new();
        private readonly Task loop;

        public JobPodCensus(IKubernetes client, string ns)
        {
            loop = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        var pods = (await client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: stop.Token)).Items;
                        foreach (var group in pods.Where(p => PodClassifier.StateOf(p) != PodState.Ended)
                            .GroupBy(p => p.Metadata.Labels is { } labels && labels.TryGetValue(WellKnown.JobNameLabel, out var job) ? job : ""))
                        {
                            if (group.Count() > 1 && Problem is null)
                            {
                                Problem = $"job {group.Key} had {group.Count()} live pods at once: {string.Join(", ", group.Select(p => p.Metadata.Name))}";
                            }
                        }
                        await Task.Delay(50, stop.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                    catch (k8s.Autorest.HttpOperationException)
                    {
                    }
                }
            });
        }

        public string? Problem { get; private set; }

        public void Stop()
        {
            if (!stop.IsCancellationRequested)
            {
                stop.Cancel();
                loop.Wait(TimeSpan.FromSeconds(5));
            }
        }

        public void Dispose()
        {
            Stop();
            stop.Dispose();
        }
    }
}
