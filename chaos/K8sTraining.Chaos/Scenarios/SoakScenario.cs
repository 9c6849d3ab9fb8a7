using System.Globalization;
using System.Text.Json;
using K8sTraining.Chaos.Cluster;
using K8sTraining.Chaos.Runner;
using K8sTraining.ClusterSupport;
using K8sTraining.Operator.Api;
using K8sTraining.TestSupport;
using K8sTraining.Operator.Pods;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace K8sTraining.Chaos.Scenarios;

/// <summary>
/// §2 of issue 19, the soak: one operator process; one long job preempted over and over through the policy/v1 Eviction
/// API (evict, wait for the next attempt Running, repeat) and, between those, waves of small jobs with a seeded number
/// of preemptions each. Invariants: exact counters on every job (status.preemptions == the evictions made,
/// restarts == 0, attempt == preemptions + 1), every job Succeeded, never two live pods of one job; the operator's
/// memory flat (RSS growth under 10% from after the warm-up to the end) and no leak of watches or timers (its /leader
/// activeWatches and timers back at their warm level once the work is done).
/// </summary>
public sealed class SoakScenario : IChaosScenario
{
    /// <summary>This scenario's share of the suite's budget (full profile).</summary>
    public const double Share = 0.12;

    /// <summary>A pod that waits for its go-file and exits 75 on SIGTERM (as the trainer does when preempted).</summary>
    private const string WaitForGoFile = "trap 'exit 75' TERM; while [ ! -f \"$GO_FILE\" ]; do sleep 0.1; done; exit 0";

    private static readonly TimeSpan StepDeadline = TimeSpan.FromSeconds(60);

    public string Name => "soak";

    public async Task<ScenarioResult> RunAsync(ChaosContext context, CancellationToken cancellationToken)
    {
        var result = new ScenarioResult(Name);
        // The subset's sizes are fixed (its run fits in 30 s); its slice of the short test budget would cut it
        // before it starts, so it only has a safety cap.
        var until = context.IsSubset ? DateTime.UtcNow.AddSeconds(90) : context.SliceDeadline(Share);
        var (longPreemptions, smallJobs, waveSize) = context.IsSubset ? (20, 20, 10) : (200, 300, 10);

        // Every random choice up front, in order, so a seed replays whatever the timing.
        var smallPlan = Enumerable.Range(0, smallJobs).Select(_ => context.Chance(0.5) ? context.Pick(1, 4) : 0).ToList();
        var waves = (smallJobs + waveSize - 1) / waveSize;

        // No job here reads S3: the endpoint only fills the s3-credentials Secret, so no s3rver is started for it.
        await using var cluster = await LocalTestCluster.StartAsync(
            new LocalTestClusterOptions { S3Endpoint = "http://127.0.0.1:9", S3SecretKey = context.Secret, ScratchDirectory = context.NewDirectory("soak-cluster") },
            cancellationToken);
        var ns = await cluster.NewNamespaceAsync("soak");
        var goDirectory = context.NewDirectory("soak-go");
        await using var op = OperatorProcess.Start(cluster.KubeconfigPath, ns, "soak-operator");
        try
        {
            await op.WaitReadyAndLeadingAsync(TimeSpan.FromSeconds(60));
            var pid = op.Pid;
            using var ledger = await PodLedger.StartAsync(cluster.Client, ns, cancellationToken);
            var evictions = 0;

            var longGo = Path.Combine(goDirectory, "long");
            await cluster.CreateJobAsync(LocalTestCluster.ScriptJob(ns, "long", WaitForGoFile, s => s.Env!.Add(new V1EnvVar { Name = "GO_FILE", Value = longGo })));
            await WaitRunningAsync(cluster, ledger, ns, "long", 1, cancellationToken);

            // Rounds: the long job's evictions in proportion, side by side with a wave of small jobs. The warm-up is
            // the first 30% of the rounds (one in the subset): in a full run the operator's RSS (server GC sizing its
            // heap, JIT, thread pool, HTTP connections) rises over about the first 70 small jobs and is flat after.
            var warmRounds = context.IsSubset ? 1 : Math.Max(1, waves * 3 / 10);
            var smallPreemptions = 0;
            var smallDone = 0;
            Readings? before = null;
            for (var round = 0; round < waves && DateTime.UtcNow < until; round++)
            {
                var target = longPreemptions * (round + 1) / waves;
                var count = Math.Min(waveSize, smallJobs - smallDone);
                var longPart = PreemptLongAsync(cluster, ledger, ns, evictions, target - evictions, until, cancellationToken);
                var wave = RunWaveAsync(context, result, cluster, ledger, ns, goDirectory, smallPlan, smallDone, count, cancellationToken);
                evictions += await longPart;
                smallPreemptions += await wave;
                smallDone += count;
                var rss = op.RssMiB();
                context.Log($"soak: {evictions} evictions, {smallDone} small jobs: operator RSS {rss:0.0} MiB");
                if (round == warmRounds - 1)
                {
                    before = await ReadingsAsync(op);
                    context.Log($"soak: warm: {before.ActiveWatches} watches, {before.Timers} timers");
                }
            }

            before ??= await ReadingsAsync(op);
            var warmEvictions = longPreemptions * warmRounds / waves;
            var warmJobs = Math.Min(smallJobs, warmRounds * waveSize);
            evictions += await PreemptLongAsync(cluster, ledger, ns, evictions, longPreemptions - evictions, until, cancellationToken);

            // The long job ends: its counters are exactly the evictions made.
            await File.WriteAllTextAsync(longGo, "go", cancellationToken);
            var done = await WaitJobAsync(cluster, ns, "long", j => JobPhases.IsTerminal(j.Status?.Phase), "to end", cancellationToken);
            CheckCounters(result, done, evictions);
            result.Runs += 1 + smallDone;
            result.Interruptions += evictions + smallPreemptions;

            foreach (var (job, live) in ledger.Exceeding(1))
            {
                result.Violation($"{live} live pods of job {job} at once");
            }

            // Once everything is deleted and the pods are gone, the watches and timers are back where they were.
            await DeleteJobAsync(cluster, ns, "long", cancellationToken);
            await Eventually.TrueAsync(async () => (await cluster.PodsAsync(ns)).Count == 0, "every pod of the namespace to be gone", TimeSpan.FromSeconds(60));
            var after = await SettledAsync(op, before);
            result.RssMiB = (before.RssMiB, after.RssMiB);
            context.Log($"soak: at the end: RSS {after.RssMiB:0.0} MiB, {after.ActiveWatches} watches, {after.Timers} timers");
            if (context.IsSubset)
            {
                // 30 s is within the .NET heap's own warm-up (seed 5, full profile: 159 MiB after 10 jobs, 189 after
                // 70, then flat to 230): growth is judged in the full profile only.
                result.Notes.Add($"subset: RSS {before.RssMiB:0} -> {after.RssMiB:0} MiB recorded, not judged (too short to pass the heap's warm-up)");
            }
            else if (after.RssMiB > before.RssMiB * 1.10)
            {
                result.Violation($"operator RSS grew {(after.RssMiB / before.RssMiB - 1) * 100:0.0}% ({before.RssMiB:0.0} -> {after.RssMiB:0.0} MiB) over {evictions + smallPreemptions} preemptions and {smallDone} small jobs");
            }

            if (after.ActiveWatches != before.ActiveWatches)
            {
                result.Violation($"the operator's open watches went from {before.ActiveWatches} to {after.ActiveWatches}");
            }

            if (after.Timers > before.Timers + TimerSlack)
            {
                result.Violation($"the operator's timers went from {before.Timers} to {after.Timers} (a leak: more than {TimerSlack} above the warm level)");
            }

            if (op.HasExited || op.Pid != pid)
            {
                result.Violation($"the operator exited or restarted:\n{Tail(op.Output)}");
            }

            result.Notes.Add($"{evictions} of {longPreemptions} evictions of the long job, {smallDone} of {smallJobs} small jobs ({smallPreemptions} preemptions)" + (evictions < longPreemptions || smallDone < smallJobs ? ": stopped at the budget slice" : ""));
            result.Notes.Add($"warm-up: {warmEvictions} evictions and {warmJobs} small jobs; watches {before.ActiveWatches} -> {after.ActiveWatches}, timers {before.Timers} -> {after.Timers}");
        }
        finally
        {
            await ClusterEvidence.CollectAsync(context, cluster, ns, [op]);
        }

        return result;
    }

    /// <summary>Timers come and go with HTTP connections and watch deadlines; a leak grows with the jobs (hundreds).</summary>
    private const int TimerSlack = 16;

    /// <summary>Evicts the long job's current pod <paramref name="count"/> times; returns how many evictions were made.</summary>
    private static async Task<int> PreemptLongAsync(LocalTestCluster cluster, PodLedger ledger, string ns, int sofar, int count, DateTime until, CancellationToken cancellationToken)
    {
        var made = 0;
        for (var i = 0; i < count && DateTime.UtcNow < until; i++)
        {
            var attempt = sofar + made + 1;
            await EvictAsync(cluster, ns, PodNames.ForAttempt("long", attempt), cancellationToken);
            made++;
            await WaitRunningAsync(cluster, ledger, ns, "long", attempt + 1, cancellationToken);
        }

        return made;
    }

    /// <summary>
    /// Runs small jobs [first, first + count) side by side, each preempted its planned number of times, then let go;
    /// checks each one's counters and deletes it. Returns the preemptions made.
    /// </summary>
    private static async Task<int> RunWaveAsync(ChaosContext context, ScenarioResult result, LocalTestCluster cluster, PodLedger ledger, string ns, string goDirectory, IReadOnlyList<int> plan, int first, int count, CancellationToken cancellationToken)
    {
        var runs = Enumerable.Range(first, count).Select(async index =>
        {
            var name = $"small-{index.ToString("D3", CultureInfo.InvariantCulture)}";
            var go = Path.Combine(goDirectory, name);
            try
            {
                await cluster.CreateJobAsync(LocalTestCluster.ScriptJob(ns, name, WaitForGoFile, s => s.Env!.Add(new V1EnvVar { Name = "GO_FILE", Value = go })));
                await WaitRunningAsync(cluster, ledger, ns, name, 1, cancellationToken);
                for (var p = 1; p <= plan[index]; p++)
                {
                    await EvictAsync(cluster, ns, PodNames.ForAttempt(name, p), cancellationToken);
                    await WaitRunningAsync(cluster, ledger, ns, name, p + 1, cancellationToken);
                }

                await File.WriteAllTextAsync(go, "go", cancellationToken);
                var done = await WaitJobAsync(cluster, ns, name, j => JobPhases.IsTerminal(j.Status?.Phase), "to end", cancellationToken);
                CheckCounters(result, done, plan[index]);
                await DeleteJobAsync(cluster, ns, name, cancellationToken);
                return plan[index];
            }
            catch (TimeoutException e)
            {
                lock (result)
                {
                    result.Violation($"{name} (planned {plan[index]} preemptions): {e.Message}");
                }

                return 0;
            }
        }).ToList();
        var preemptions = await Task.WhenAll(runs);
        context.Log($"soak: small jobs {first}..{first + count - 1} done ({preemptions.Sum()} preemptions)");
        return preemptions.Sum();
    }

    private static void CheckCounters(ScenarioResult result, TrainingJob job, int evictions)
    {
        var s = job.Status;
        var name = job.Metadata.Name;
        lock (result)
        {
            if (s?.Phase != JobPhases.Succeeded)
            {
                result.Violation($"{name} ended {s?.Phase ?? "(no status)"}, not Succeeded: {JsonSerializer.Serialize(s?.Conditions?.Select(c => $"{c.Type}={c.Status} {c.Reason}: {c.Message}"))}");
            }

            if (s is null || s.Preemptions != evictions || s.Restarts != 0 || s.Attempt != evictions + 1)
            {
                result.Violation($"{name}: preemptions {s?.Preemptions}, restarts {s?.Restarts}, attempt {s?.Attempt} after {evictions} evictions (expected {evictions}, 0, {evictions + 1})");
            }
        }
    }

    /// <summary>Evicts through policy/v1 (as a drain does); a 429 (a disruption budget, or too many at once) is retried.</summary>
    private static async Task EvictAsync(LocalTestCluster cluster, string ns, string pod, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + StepDeadline;
        while (true)
        {
            try
            {
                await cluster.Client.CoreV1.CreateNamespacedPodEvictionAsync(new V1Eviction { Metadata = new V1ObjectMeta { Name = pod, NamespaceProperty = ns } }, pod, ns, cancellationToken: cancellationToken);
                return;
            }
            catch (HttpOperationException e) when ((int)e.Response.StatusCode == 429 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100, cancellationToken);
            }
        }
    }

    /// <summary>Waits until the job runs <paramref name="attempt"/> and its pod for it is Running.</summary>
    private static async Task WaitRunningAsync(LocalTestCluster cluster, PodLedger ledger, string ns, string job, int attempt, CancellationToken cancellationToken)
    {
        var pod = PodNames.ForAttempt(job, attempt);
        await Eventually.TrueAsync(() => ledger.Pod(job, pod)?.Status?.Phase == "Running", StepDeadline, $"{ns}/{pod} to run");
        await WaitJobAsync(cluster, ns, job, j => j.Status?.Attempt == attempt && j.Status.Phase == JobPhases.Running, $"attempt {attempt} Running", cancellationToken);
    }

    private static async Task<TrainingJob> WaitJobAsync(LocalTestCluster cluster, string ns, string name, Func<TrainingJob, bool> done, string what, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + StepDeadline;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var job = await cluster.GetJobAsync(ns, name);
            if (done(job))
            {
                return job;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{ns}/{name} did not get {what} within {StepDeadline.TotalSeconds:0} s: phase {job.Status?.Phase}, attempt {job.Status?.Attempt}, preemptions {job.Status?.Preemptions}");
            }

            await Task.Delay(50, cancellationToken);
        }
    }

    private static async Task DeleteJobAsync(LocalTestCluster cluster, string ns, string name, CancellationToken cancellationToken) =>
        await cluster.Client.CustomObjects.DeleteNamespacedCustomObjectAsync(TrainingJob.KubeGroup, TrainingJob.KubeVersion, ns, TrainingJob.KubePlural, name, new V1DeleteOptions { PropagationPolicy = "Background" }, cancellationToken: cancellationToken);

    private sealed record Readings(double RssMiB, int ActiveWatches, int Timers);

    private static async Task<Readings> ReadingsAsync(OperatorProcess op)
    {
        var info = await op.LeaderInfoAsync() ?? throw new InvalidOperationException($"the operator's /leader did not answer:\n{Tail(op.Output)}");
        return new Readings(op.RssMiB() ?? throw new InvalidOperationException("the operator is gone: no RSS to read"), info.GetProperty("activeWatches").GetInt32(), info.GetProperty("timers").GetInt32());
    }

    /// <summary>The readings once the watches and timers are back to their warm level, or the last after 30 s.</summary>
    private static async Task<Readings> SettledAsync(OperatorProcess op, Readings before)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var now = await ReadingsAsync(op);
            if ((now.ActiveWatches == before.ActiveWatches && now.Timers <= before.Timers + TimerSlack) || DateTime.UtcNow > deadline)
            {
                return now;
            }

            await Task.Delay(200);
        }
    }

    private static string Tail(string text) => text.Length <= 3000 ? text : text[^3000..];
}
