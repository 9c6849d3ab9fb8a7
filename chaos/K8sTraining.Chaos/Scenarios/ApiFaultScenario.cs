using System.Diagnostics;
using K8sTraining.Chaos.Cluster;
using K8sTraining.Chaos.Runner;
using K8sTraining.ClusterSupport;
using K8sTraining.LocalCluster.Api.Faults;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Pods;
using K8sTraining.Operator.Reconciliation;
using K8sTraining.TestSupport;
using k8s;
using k8s.Models;

namespace K8sTraining.Chaos.Scenarios;

/// <summary>
/// §2 of issue 19, stale and missing views: the operator runs the job story while the local control plane's fault mode
/// works on its requests alone (picked by its User-Agent): its watch events delayed or dropped, its watches closed
/// early, its requests answered 409, 429 or 500; each kind on its own, then all at once. The invariants are every
/// cluster scenario's: never two live pods of a job, no job stuck, counters equal to the disruptions really caused,
/// and the final status the same as the story's without faults. Interruptions counts the faults injected.
/// </summary>
public sealed class ApiFaultScenario : IChaosScenario
{
    /// <summary>This scenario's share of the suite's budget.</summary>
    public const double Share = 0.07;

    private const string Identity = "chaos-api-faults";

    /// <summary>How often the operator relists and resyncs: the bound on how long a dropped event can stay unseen.</summary>
    private const int ResyncSeconds = 3;

    private static readonly TimeSpan StoryDeadline = TimeSpan.FromSeconds(45);

    public string Name => "api faults";

    /// <summary>Each fault kind on its own, then all at once, for the client whose User-Agent starts with <paramref name="agent"/>.</summary>
    public static IReadOnlyList<(string Name, ApiFaultRule Rule)> Cases(string agent) =>
    [
        ("delayed events", new ApiFaultRule { UserAgentPrefix = agent, WatchDelay = TimeSpan.FromSeconds(2) }),
        ("dropped events", new ApiFaultRule { UserAgentPrefix = agent, DropWatchEvents = 0.3 }),
        ("409 conflicts", new ApiFaultRule { UserAgentPrefix = agent, Conflict = 0.3 }),
        ("429 throttling", new ApiFaultRule { UserAgentPrefix = agent, TooManyRequests = 0.3, RetryAfterSeconds = 1 }),
        ("500 errors", new ApiFaultRule { UserAgentPrefix = agent, InternalError = 0.3 }),
        ("early closes", new ApiFaultRule { UserAgentPrefix = agent, CloseWatchesAfter = (TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(4)) }),
        ("all at once", new ApiFaultRule
        {
            UserAgentPrefix = agent,
            WatchDelay = TimeSpan.FromSeconds(1),
            DropWatchEvents = 0.15,
            Conflict = 0.1,
            TooManyRequests = 0.1,
            InternalError = 0.1,
            CloseWatchesAfter = (TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(4)),
        }),
    ];

    public async Task<ScenarioResult> RunAsync(ChaosContext context, CancellationToken cancellationToken)
    {
        var until = context.SliceDeadline(Share);
        var result = new ScenarioResult(Name);
        // Script jobs read no checkpoints: no S3 server is needed (the endpoint only fills the unused Secret).
        await using var cluster = await LocalTestCluster.StartAsync(new LocalTestClusterOptions
        {
            S3Endpoint = "http://127.0.0.1:9",
            S3SecretKey = context.Secret,
            ScratchDirectory = context.NewDirectory("api-faults"),
        }, cancellationToken);
        var ns = await cluster.NewNamespaceAsync("api-faults");
        var agent = OperatorAgent(Identity);
        await using var op = OperatorProcess.Start(cluster.KubeconfigPath, ns, Identity,
            "--resync-period-seconds", $"{ResyncSeconds}", "--watch-timeout-seconds", "30", "--progress-interval-seconds", "0");
        await Eventually.GetAsync(op.LeaderInfoAsync, i => i is { } e && e.GetProperty("cachesSynced").GetBoolean(), TimeSpan.FromSeconds(60), "the operator to sync its caches");
        var rssBefore = op.RssMiB();
        var goDirectory = context.NewDirectory("api-faults-go");

        var baseline = await StoryAsync(cluster, ns, "baseline", goDirectory, cancellationToken);
        result.Runs++;
        Check(result, "baseline", baseline, null);
        if (baseline.Final is null)
        {
            await ClusterEvidence.CollectAsync(context, cluster, ns, [op]);
            return result;
        }

        var cases = Cases(agent);
        // The subset: one kind on its own (the seed picks which), then all at once. The full profile: every kind, then
        // every kind again, round after round, until the time slice is spent.
        IReadOnlyList<(string Name, ApiFaultRule Rule)> chosen = context.IsSubset ? [context.Pick(cases.Take(cases.Count - 1).ToList()), cases[^1]] : cases;
        var runs = 0;
        var round = 1;
        while (true)
        {
            var (name, rule) = chosen[runs % chosen.Count];
            if (DateTime.UtcNow >= until)
            {
                result.Notes.Add($"time slice spent after {runs} fault runs (round {round}, {chosen.Count} kinds a round)");
                break;
            }

            if (runs > 0 && runs % chosen.Count == 0 && context.IsSubset)
            {
                break;
            }

            round = (runs / chosen.Count) + 1;
            runs++;
            var before = cluster.Plane.Faults.TotalInjected;
            cluster.Plane.Faults.Set(context.Random.Next(), rule);
            StoryOutcome outcome;
            try
            {
                outcome = await StoryAsync(cluster, ns, $"{name} {round}", goDirectory, cancellationToken);
            }
            finally
            {
                cluster.Plane.Faults.Clear();
            }

            var injected = cluster.Plane.Faults.TotalInjected - before;
            result.Runs++;
            result.Interruptions += (int)injected;
            if (outcome.Recovery is { } recovery)
            {
                result.RecoverySeconds.Add(recovery.TotalSeconds);
            }

            context.Log($"api faults: {name} (round {round}): {injected} faults injected, {outcome.Elapsed.TotalSeconds:0.0} s");
            if (injected == 0)
            {
                result.Notes.Add($"{name}: no fault reached the operator (does it send User-Agent {agent}?)");
            }

            Check(result, name, outcome, baseline.Final);
        }

        var rssAfter = op.RssMiB();
        if (rssBefore is { } b && rssAfter is { } a)
        {
            result.RssMiB = (b, a);
        }

        if (op.HasExited)
        {
            result.Violation($"the operator exited under faults: {Tail(op.Output)}");
        }

        await ClusterEvidence.CollectAsync(context, cluster, ns, [op]);
        return result;
    }

    /// <summary>The User-Agent prefix of one operator replica's requests.</summary>
    private static string OperatorAgent(string identity) => $"{KubernetesApiFieldManager}/{identity}";

    private const string KubernetesApiFieldManager = K8sTraining.Operator.Runtime.KubernetesApi.FieldManager;

    /// <summary>
    /// The story: create, run, evict (a preemption), replace, succeed. The trainer is a script that waits for a file,
    /// so the eviction always lands mid-run; every step is checked against the API server itself, not the operator.
    /// </summary>
    private static async Task<StoryOutcome> StoryAsync(LocalTestCluster cluster, string ns, string caseName, string goDirectory, CancellationToken cancellationToken)
    {
        var name = $"story-{new string(caseName.Where(char.IsAsciiLetterOrDigit).ToArray()).ToLowerInvariant()}";
        var go = Path.Combine(goDirectory, name);
        var clock = Stopwatch.StartNew();
        using var census = new PodCensus(cluster.Client, ns, p => OwnedBy(p, name) && PodClassifier.StateOf(p) != PodState.Ended);
        var job = LocalTestCluster.ScriptJob(ns, name, "trap 'exit 75' TERM; while [ ! -f \"$GO_FILE\" ]; do sleep 0.1; done; exit 0",
            s => s.Env!.Add(new V1EnvVar { Name = "GO_FILE", Value = go }));
        var problems = new List<string>();
        TimeSpan? recovery = null;
        TrainingJob? final = null;
        try
        {
            await cluster.CreateJobAsync(job);
            var first = PodNames.ForAttempt(name, 1);
            await Eventually.GetAsync(async () => (await cluster.PodsAsync(ns)).FirstOrDefault(p => p.Metadata.Name == first),
                p => p?.Status?.Phase == "Running", StoryDeadline, $"{ns}/{first} to run");
            await cluster.Client.CoreV1.CreateNamespacedPodEvictionAsync(new V1Eviction { Metadata = new V1ObjectMeta { Name = first, NamespaceProperty = ns } }, first, ns, cancellationToken: cancellationToken);
            var evicted = clock.Elapsed;
            var second = PodNames.ForAttempt(name, 2);
            await Eventually.GetAsync(async () => (await cluster.PodsAsync(ns)).FirstOrDefault(p => p.Metadata.Name == second),
                p => p?.Status?.Phase == "Running", StoryDeadline, $"{ns}/{second}, the replacement, to run");
            recovery = clock.Elapsed - evicted;
            await File.WriteAllTextAsync(go, "go", cancellationToken);
            final = await cluster.WaitForJobAsync(ns, name, j => j.Status?.Phase is JobPhases.Succeeded or JobPhases.Failed, "a terminal phase", StoryDeadline);
        }
        catch (TimeoutException e)
        {
            problems.Add($"stuck: {e.Message}");
        }

        return new StoryOutcome(name, final, census.MaxAliveAtOnce, recovery, clock.Elapsed, problems);
    }

    private static bool OwnedBy(V1Pod pod, string job) =>
        pod.Metadata.OwnerReferences?.Any(o => o.Controller == true && o.Kind == TrainingJob.KubeKind && o.Name == job) == true;

    /// <summary>The invariants of one run; <paramref name="expected"/> is the final status of the run without faults.</summary>
    private static void Check(ScenarioResult result, string caseName, StoryOutcome outcome, TrainingJob? expected)
    {
        foreach (var problem in outcome.Problems)
        {
            result.Violation($"{caseName}: {problem}");
        }

        if (outcome.MaxAlive > 1)
        {
            result.Violation($"{caseName}: {outcome.MaxAlive} live pods of {outcome.Job} at once (spec.workers is 1)");
        }

        if (outcome.Final?.Status is not { } status)
        {
            return;
        }

        if ((status.Phase, status.Preemptions, status.Restarts) != (JobPhases.Succeeded, 1, 0))
        {
            result.Violation($"{caseName}: {outcome.Job} ended {status.Phase} with preemptions {status.Preemptions} and restarts {status.Restarts}; the story caused one eviction and no failure");
        }

        if (expected?.Status is { } want && Summary(want) != Summary(status))
        {
            result.Violation($"{caseName}: final status {Summary(status)} differs from the run without faults: {Summary(want)}");
        }
    }

    /// <summary>What must match the run without faults: phase, attempt, counters, and each condition's type/status/reason.</summary>
    private static string Summary(TrainingJobStatus status) =>
        $"phase={status.Phase} attempt={status.Attempt} preemptions={status.Preemptions} restarts={status.Restarts} conditions=[" +
        string.Join(", ", (status.Conditions ?? []).OrderBy(c => c.Type, StringComparer.Ordinal).Select(c => $"{c.Type}={c.Status}/{c.Reason}")) + "]";

    private static string Tail(string text) => text.Length <= 2000 ? text : text[^2000..];

    private sealed record StoryOutcome(string Job, TrainingJob? Final, int MaxAlive, TimeSpan? Recovery, TimeSpan Elapsed, IReadOnlyList<string> Problems);
}
