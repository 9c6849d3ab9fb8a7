using System.Diagnostics;
using System.Globalization;
using K8sTraining.Chaos.Cluster;
using K8sTraining.Chaos.Runner;
using K8sTraining.ClusterSupport;
using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Runtime;
using k8s;

namespace K8sTraining.Chaos.Scenarios;

/// <summary>
/// §2 of issue 19, "leader churn": two or three operator replicas with leader election on a short Lease, and jobs that
/// start, succeed and fail-then-retry while the leader is SIGKILLed every few seconds (and a new replica started in its
/// place). Invariants: one leader at a time (from the Lease's writes in the API server's audit log: a take-over only
/// once the lease expired, and every other operator write from the replica that held the lease at that moment; the
/// replicas' /leader never show two leaders in one look), and the job invariants (<see cref="JobInvariants"/>): every job
/// ends Succeeded with its attempts, restarts and preemptions exact, and never two live pods of one job. Recovery is from
/// a kill to the next leader's first write of anything but the Lease (the work resumes).
/// </summary>
public sealed class LeaderChurnScenario : IChaosScenario
{
    private const double Share = 0.05;
    private const string LeaseName = "k8s-training-operator";
    private static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(4);
    private static readonly TimeSpan Tolerance = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan JobDeadline = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan LeaderWait = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan FirstWriteWait = TimeSpan.FromSeconds(10);

    public string Name => "leader churn";

    public async Task<ScenarioResult> RunAsync(ChaosContext context, CancellationToken cancellationToken)
    {
        var result = new ScenarioResult(Name);
        var until = context.SliceDeadline(Share);
        // The subset kills two leaders (a time bound would give none on a loaded machine, where the replicas take long to
        // start); the full profile kills for what its slice leaves after the jobs' tail.
        var kills = new List<(string Identity, DateTimeOffset At)>();
        var churnUntil = until - TimeSpan.FromSeconds(20);
        bool MoreChurn() => context.IsSubset ? kills.Count < 2 : kills.Count == 0 || DateTime.UtcNow < churnUntil;
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
            await using var invariants = await JobInvariants.StartAsync(cluster.Client, ns, cancellationToken);
            using var looks = LeaderLooks(replicas);
            double? rssBefore = null;
            await story.CreateNextAsync(cancellationToken);
            while (MoreChurn())
            {
                cancellationToken.ThrowIfCancellationRequested();
                var leader = await LiveLeaderAsync(cluster, ns, replicas, cancellationToken);
                if (leader is null)
                {
                    result.Violation($"no live replica held the lease within {LeaderWait.TotalSeconds:0} s ({result.Interruptions} kills so far)");
                    break;
                }
                // Killed only once it has resumed the work (its first write of anything but the Lease; a fresh replica
                // may take over before it has even synced), so every take-over is timed; then it works a random while (a
                // job created meanwhile), and dies.
                await WaitForFirstWriteAsync(cluster, ns, leader.Identity, FirstWriteWait, cancellationToken);
                await Task.Delay(context.Pick(500, 2500), cancellationToken);
                await story.CreateNextAsync(cancellationToken);
                rssBefore ??= leader.RssMiB();
                kills.Add((leader.Identity, DateTimeOffset.UtcNow));
                await leader.KillAsync();
                result.Interruptions++;
                replicas.StartOne();
            }

            var stuck = await story.WaitForAllAsync(JobDeadline, cancellationToken);
            var rssAfter = (await HolderAsync(cluster, ns) is { } last ? replicas.Find(last) : null)?.RssMiB();
            if (rssBefore is { } before && rssAfter is { } after)
            {
                result.RssMiB = (before, after);
            }
            foreach (var problem in await invariants.CheckAsync(story.Result(stuck), baseline: null, TimeSpan.FromSeconds(5), cancellationToken))
            {
                result.Violation(problem);
            }
            // SIGKILL, not SIGTERM: a graceful stop releases the lease, and the history has no releases to explain.
            await replicas.KillAllAsync();
            looks.Stop();

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
            var recoveries = LeaderHistory.Recoveries(writes, LeaseName, kills);
            result.RecoverySeconds.AddRange(recoveries.OfType<TimeSpan>().Select(r => r.TotalSeconds));
            if (writes.Count(w => !w.Resource.Equals(LeaderHistory.LeaseResource, StringComparison.Ordinal)) == 0)
            {
                result.Violation("no operator write was attributed to a replica: the User-Agent names no identity");
            }
            result.Notes.Add(string.Create(CultureInfo.InvariantCulture,
                $"{replicaCount} replicas, {terms.Count} lease terms ({string.Join(" -> ", terms.Select(t => t.Identity))}), {writes.Count} operator writes checked, {story.Created} jobs; {recoveries.Count(r => r is null)} of {kills.Count} next leaders wrote nothing but the lease before their own end"));
            result.Notes.Add("RSS: the first leader just before its kill, and the leader at the end (each replica is its own process)");
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

    private static async Task WaitForFirstWriteAsync(LocalTestCluster cluster, string ns, string identity, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline
            && !OperatorWrites(cluster, ns).Any(w => w.Identity == identity && w.Succeeded && w.Resource != LeaderHistory.LeaseResource))
        {
            await Task.Delay(100, cancellationToken);
        }
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
    private static PollingCheck LeaderLooks(Replicas replicas) => new(TimeSpan.FromMilliseconds(200), async _ =>
    {
        var leading = new List<string>();
        foreach (var r in replicas.All.ToList().Where(r => !r.HasExited))
        {
            if (await r.LeaderInfoAsync() is { } info && info.TryGetProperty("isLeader", out var isLeader) && isLeader.GetBoolean() && !r.HasExited)
            {
                leading.Add(r.Identity);
            }
        }

        return leading.Count > 1 ? $"{string.Join(" and ", leading)} said they lead in one look at /leader" : null;
    });

    /// <summary>
    /// The jobs created during the churn, one every round: most run a second and succeed; every third fails its first
    /// attempt and succeeds on the retry. Each must end Succeeded with exactly the attempts and restarts that implies.
    /// </summary>
    private sealed class ChurnStory(ChaosContext context, LocalTestCluster cluster, string ns)
    {
        private readonly List<(string Name, bool FailsOnce)> jobs = [];
        private readonly Stopwatch clock = Stopwatch.StartNew();

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

        /// <summary>Waits for every job to end; returns what is stuck when one has not within <paramref name="timeout"/>.</summary>
        public async Task<string?> WaitForAllAsync(TimeSpan timeout, CancellationToken cancellationToken)
        {
            var deadline = DateTime.UtcNow + timeout;
            var open = jobs.Select(j => j.Name).ToHashSet(StringComparer.Ordinal);
            while (open.Count > 0 && DateTime.UtcNow < deadline)
            {
                foreach (var name in open.ToList())
                {
                    try
                    {
                        if ((await cluster.GetJobAsync(ns, name)).Status?.Phase is JobPhases.Succeeded or JobPhases.Failed)
                        {
                            open.Remove(name);
                        }
                    }
                    catch (k8s.Autorest.HttpOperationException)
                    {
                    }
                }
                if (open.Count > 0)
                {
                    await Task.Delay(250, cancellationToken);
                }
            }
            return open.Count == 0 ? null : $"{string.Join(", ", open.Order(StringComparer.Ordinal))} did not end within {timeout.TotalSeconds:0} s";
        }

        /// <summary>What the churn caused per job: one attempt, or two with one restart for a job that fails once.</summary>
        public JobStoryResult Result(string? stuck) => new(ns,
            jobs.Select(j => new StoryJob(j.Name, Workers: 1, Preemptions: 0, Restarts: j.FailsOnce ? 1 : 0, Suspends: 0)).ToList(),
            stuck, [], clock.Elapsed);
    }
}
