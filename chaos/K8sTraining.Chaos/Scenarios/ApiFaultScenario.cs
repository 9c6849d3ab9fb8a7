using System.Diagnostics;
using System.Globalization;
using K8sTraining.Chaos.Cluster;
using K8sTraining.Chaos.Runner;
using K8sTraining.ClusterSupport;
using K8sTraining.LocalCluster.Api.Faults;
using AgentHeader = K8sTraining.Operator.Runtime.OperatorUserAgent;

namespace K8sTraining.Chaos.Scenarios;

/// <summary>
/// §2 of issue 19, stale and missing views: the job story (<see cref="JobStory"/>: evict and replace, fail and retry,
/// suspend and resume) runs while the local control plane's fault mode works on one operator's requests alone (picked
/// by its User-Agent): its watch events delayed or dropped, its watches closed early, its requests answered 409, 429
/// or 500; each kind on its own, then all at once. A second operator, never faulted, runs the same story beside it:
/// the baseline. The faults stop at a seeded moment inside the story; recovery is the time from then until the story's
/// next step (the operator caught up). The invariants are <see cref="JobInvariants"/>'s: never two live pods of a job,
/// no job lost or stuck, counters equal to what the story caused, the final status the baseline's.
/// Interruptions counts the faults injected.
/// </summary>
public sealed class ApiFaultScenario : IChaosScenario
{
    /// <summary>This scenario's share of the suite's budget.</summary>
    public const double Share = 0.07;

    private const string FaultedIdentity = "api-faults";
    private const string CleanIdentity = "api-clean";

    /// <summary>How often the operators relist and resync: the bound on how long a dropped event stays unseen.</summary>
    private const int ResyncSeconds = 3;

    /// <summary>How long a run's faults last at most, and the least: a seeded share of a story's usual length.</summary>
    private static readonly TimeSpan FaultsAtMost = TimeSpan.FromSeconds(8);

    private static readonly TimeSpan FaultsAtLeast = TimeSpan.FromSeconds(2);

    /// <summary>A step of the story under faults may take this long before the job counts as stuck.</summary>
    private static readonly JobStoryOptions StoryOptions = new() { StepTimeout = TimeSpan.FromSeconds(40) };

    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(10);

    /// <summary>What a faulted story and its checks usually take: no new run starts with less of the slice left.</summary>
    private static readonly TimeSpan StoryReserve = TimeSpan.FromSeconds(10);

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
        var cases = Cases(AgentHeader.For(FaultedIdentity));
        // The subset: all at once, once. The full profile: all at once, then each kind on its own from a seeded first
        // one (so seeds whose slice ends early still cover every kind between them), round after round, while a story
        // still fits in the slice.
        var first = context.Pick(0, cases.Count - 1);
        IReadOnlyList<(string Name, ApiFaultRule Rule)> chosen = context.IsSubset
            ? [cases[^1]]
            : [cases[^1], .. Enumerable.Range(0, cases.Count - 1).Select(i => cases[(first + i) % (cases.Count - 1)])];
        var capacity = context.IsSubset ? 1 : 2 * cases.Count;
        var seeds = Enumerable.Range(0, capacity).Select(_ => (Seed: context.Random.Next(), Window: context.Random.NextDouble())).ToList();

        await using var cluster = await LocalTestCluster.StartAsync(new LocalTestClusterOptions(), cancellationToken);
        var cleanNs = await cluster.NewNamespaceAsync("api-clean");
        var faultedNs = new List<string>();
        for (var i = 0; i < capacity; i++)
        {
            faultedNs.Add(await cluster.NewNamespaceAsync($"api-faults-{i + 1}"));
        }

        var operatorArgs = new[] { "--resync-period-seconds", $"{ResyncSeconds}", "--watch-timeout-seconds", "30", "--progress-interval-seconds", "0" };
        await using var clean = OperatorProcess.Start(cluster.KubeconfigPath, cleanNs, CleanIdentity, operatorArgs);
        await using var faulted = OperatorProcess.Start(cluster.KubeconfigPath, string.Join(',', faultedNs), FaultedIdentity, operatorArgs);
        var goDirectory = context.NewDirectory("api-faults-go");
        try
        {
            await Task.WhenAll(clean.WaitReadyAndLeadingAsync(TimeSpan.FromSeconds(60)), faulted.WaitReadyAndLeadingAsync(TimeSpan.FromSeconds(60)));
            var rssBefore = faulted.RssMiB();
            context.Log(string.Create(CultureInfo.InvariantCulture, $"api faults: cluster and both operators ready after {context.Elapsed.TotalSeconds:0.0} s of the suite"));

            // The baseline runs beside the first faulted story; every faulted run is checked against it once it is done.
            var baseline = BaselineAsync(cluster, cleanNs, Path.Combine(goDirectory, "clean"), result, cancellationToken);
            var runs = 0;
            while (runs < capacity)
            {
                if (runs > 0 && (context.IsSubset || DateTime.UtcNow + StoryReserve >= until))
                {
                    if (!context.IsSubset)
                    {
                        result.Notes.Add($"time slice spent after {runs} fault runs ({chosen.Count} kinds a round)");
                    }

                    break;
                }

                var (name, rule) = chosen[runs % chosen.Count];
                var (seed, window) = seeds[runs];
                var ns = faultedNs[runs];
                runs++;
                var faultsFor = FaultsAtLeast + ((FaultsAtMost - FaultsAtLeast) * window);
                var run = await FaultedRunAsync(cluster, ns, Path.Combine(goDirectory, $"run-{runs}"), rule, seed, faultsFor, cancellationToken);
                result.Runs++;
                result.Interruptions += (int)run.Injected;
                if (run.Recovery is { } recovery)
                {
                    result.RecoverySeconds.Add(recovery.TotalSeconds);
                }

                context.Log(string.Create(CultureInfo.InvariantCulture,
                    $"api faults: {name} (run {runs}) for {faultsFor.TotalSeconds:0.0} s: {run.Injected} faults injected, story {run.Story.Took.TotalSeconds:0.0} s, recovery {run.Recovery?.TotalSeconds:0.00} s"));
                if (run.Injected == 0)
                {
                    result.Violation($"{name}: no fault reached the operator (does it send User-Agent {rule.UserAgentPrefix}?)");
                }

                var expected = await baseline;
                foreach (var violation in await run.Invariants.CheckAsync(run.Story, expected, Settle, cancellationToken))
                {
                    result.Violation($"{name}: {violation}");
                }

                await run.Invariants.DisposeAsync();
                if (run.Story.Stuck is not null)
                {
                    result.Notes.Add($"{name}: the story's steps: {string.Join(" | ", run.Story.Steps)}");
                }
            }

            await baseline;
            if (faulted.RssMiB() is { } after && rssBefore is { } before)
            {
                result.RssMiB = (before, after);
            }

            result.Notes.Add("faults by kind: " + string.Join(", ", Enum.GetValues<ApiFaultKind>().Select(k => $"{k} {cluster.Plane.Faults.Injected(k)}")));
            foreach (var op in new[] { clean, faulted }.Where(o => o.HasExited))
            {
                result.Violation($"operator {op.Identity} exited during the scenario: {Tail(op.Output)}");
            }
        }
        finally
        {
            if (result.Violations.Count > 0)
            {
                // The faulted operator's own account of what it saw: kept beside the suite's work directory.
                var logs = context.NewDirectory("api-faults-logs");
                File.WriteAllText(Path.Combine(logs, "faulted-operator.log"), faulted.Output);
                File.WriteAllText(Path.Combine(logs, "clean-operator.log"), clean.Output);
                // What the API server was still serving when the violation was found: a client waiting on a request
                // that is not here lost it on the way.
                File.WriteAllLines(Path.Combine(logs, "api-in-flight.txt"), cluster.Plane.InFlight.Snapshot()
                    .Select(r => $"{r.Since:HH:mm:ss.fff} {r.Method} {r.PathAndQuery} {r.UserAgent}"));
                File.WriteAllLines(Path.Combine(logs, "api-audit.txt"), cluster.Plane.AuditLog.Entries
                    .Where(e => e.UserAgent.Contains(FaultedIdentity, StringComparison.Ordinal) && e.Verb != "watch")
                    .Select(e => $"{e.Time:HH:mm:ss.fff} {e.Code} {e.Verb} {e.Path}"));
                context.Log($"api faults: operator logs kept in {logs}");
            }

            cluster.Plane.Faults.Clear();
            await ClusterEvidence.CollectAsync(context, cluster, cleanNs, [clean, faulted]);
            foreach (var ns in faultedNs)
            {
                await ClusterEvidence.CollectAsync(context, cluster, ns, []);
            }
        }

        return result;
    }

    /// <summary>The story without faults: its outcomes are what every faulted run must end with.</summary>
    private static async Task<IReadOnlyList<JobOutcome>> BaselineAsync(LocalTestCluster cluster, string ns, string goDirectory, ScenarioResult result, CancellationToken cancellationToken)
    {
        await using var invariants = await JobInvariants.StartAsync(cluster.Client, ns, cancellationToken);
        var story = await new JobStory(cluster.Client, ns, goDirectory, StoryOptions).RunAsync(cancellationToken);
        result.Runs++;
        foreach (var violation in await invariants.CheckAsync(story, null, Settle, cancellationToken))
        {
            result.Violation($"baseline (no faults): {violation}");
        }

        return await JobInvariants.OutcomesAsync(cluster.Client, ns, story.Jobs.Select(j => j.Name), cancellationToken);
    }

    /// <summary>
    /// One story under <paramref name="rule"/> for the first <paramref name="faultsFor"/> of it. Recovery: from the
    /// moment the faults stop to the story's next step (null when the story ended under faults).
    /// </summary>
    private static async Task<FaultedRun> FaultedRunAsync(LocalTestCluster cluster, string ns, string goDirectory, ApiFaultRule rule, int seed, TimeSpan faultsFor, CancellationToken cancellationToken)
    {
        var invariants = await JobInvariants.StartAsync(cluster.Client, ns, cancellationToken);
        var injectedBefore = cluster.Plane.Faults.TotalInjected;
        var clock = Stopwatch.StartNew();
        cluster.Plane.Faults.Set(seed, rule);
        var storyTask = new JobStory(cluster.Client, ns, goDirectory, StoryOptions).RunAsync(cancellationToken);
        TimeSpan? stopped = null;
        try
        {
            if (await Task.WhenAny(storyTask, Task.Delay(faultsFor, cancellationToken)) != storyTask)
            {
                stopped = clock.Elapsed;
            }
        }
        finally
        {
            cluster.Plane.Faults.Clear();
        }

        var injected = cluster.Plane.Faults.TotalInjected - injectedBefore;
        var story = await storyTask;
        return new FaultedRun(story, invariants, injected, stopped is { } at ? NextStepAfter(story, at) : null);
    }

    /// <summary>
    /// The first step the story reached after <paramref name="at"/> (its clock started just after ours, so this errs by
    /// microseconds, long): steps read "  12.3 s text".
    /// </summary>
    private static TimeSpan? NextStepAfter(JobStoryResult story, TimeSpan at)
    {
        foreach (var step in story.Steps)
        {
            var end = step.IndexOf(" s ", StringComparison.Ordinal);
            if (end > 0 && double.TryParse(step[..end], NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= at.TotalSeconds)
            {
                return TimeSpan.FromSeconds(seconds) - at;
            }
        }

        return null;
    }

    private static string Tail(string text) => text.Length <= 2000 ? text : text[^2000..];

    private sealed record FaultedRun(JobStoryResult Story, JobInvariants Invariants, long Injected, TimeSpan? Recovery);
}
