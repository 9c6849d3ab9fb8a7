using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using K8sTraining.Chaos.Cluster;
using K8sTraining.Chaos.Runner;
using K8sTraining.ClusterSupport;
using K8sTraining.LocalCluster.Audit;
using OperatorUserAgent = K8sTraining.Operator.Runtime.OperatorUserAgent;

namespace K8sTraining.Chaos.Scenarios;

/// <summary>
/// §2 "crash at every write", Sieve style: the <see cref="JobStory"/> runs once with its own operator, uncrashed, and its
/// API writes are recorded (audit entries with the operator's User-Agent: create, update, patch, delete, code &lt; 400).
/// Then for k = 1..K the story runs again in a fresh namespace and the operator is SIGKILLed right after its k-th write
/// (from the audit log's observer, before the next request is audited), restarted with the same identity, and the story
/// finishes. Invariants (<see cref="JobInvariants"/>): never two live pods of one job, no job lost or stuck, counters equal
/// what the story caused, and the final status equals the uncrashed run's.
/// </summary>
public sealed partial class SieveScenario : IChaosScenario
{
    private const double Share = 0.13;

    // The subset's crash runs, side by side after the uncrashed one: 2 keep it within its 30 s on 2 cores.
    private const int SubsetCrashes = 2;

    public string Name => "crash at every write";

    public async Task<ScenarioResult> RunAsync(ChaosContext context, CancellationToken cancellationToken)
    {
        var result = new ScenarioResult(Name);
        var until = context.SliceDeadline(Share);
        // The story's script pods read no checkpoints, so no S3 server is started (the endpoint is never dialled).
        await using var cluster = await LocalTestCluster.StartAsync(new LocalTestClusterOptions { S3Endpoint = "http://127.0.0.1:9" }, cancellationToken).ConfigureAwait(false);

        // The uncrashed run: the baseline of the final statuses, and K.
        var baseline = await RunStoryAsync(context, cluster, "sieve-base", killAfter: null, cancellationToken).ConfigureAwait(false);
        result.Runs++;
        result.Violations.AddRange(baseline.Violations.Select(v => $"uncrashed run: {v}"));
        var rssAfterMax = 0.0;
        var writes = baseline.Writes;
        result.Notes.Add($"uncrashed story: {baseline.Took.TotalSeconds:0.0} s, K = {writes.Count} operator writes ({Summary(writes)})");
        if (baseline.Violations.Count > 0 || writes.Count == 0)
        {
            result.Notes.Add("no crash runs: the uncrashed run must pass first");
            return result;
        }

        // Several stories side by side: each has its own namespace and operator; the plane serves them all.
        var sideBySide = context.IsSubset ? SubsetCrashes : Math.Clamp(Environment.ProcessorCount, 1, 4);
        // How many crash runs fit what is left of the slice: side by side they slow each other (operators starting on
        // 2 cores), so each counts for twice the uncrashed run's time divided among the stories running together.
        var left = Math.Max(0, (until - DateTime.UtcNow).TotalSeconds);
        var fit = (int)(left / Math.Max(1, baseline.Took.TotalSeconds * 2) * sideBySide);
        var ks = CrashPoints(writes.Count, context.IsSubset ? SubsetCrashes : fit, context.IsSubset, context.Random);
        // Run them in a seeded shuffle: when the slice runs out before the last, the k covered still spread over the story.
        var order = ks.OrderBy(_ => context.Random.Next()).ToList();
        var covered = new List<int>();
        var lateKills = 0;
        // A pool: the next k starts as soon as a story ends, until the slice runs out; the rows are read in k's order.
        // The subset's few crash runs always run, however long the uncrashed one took on a loaded machine: a subset row
        // that crashed nothing would prove nothing.
        var running = new List<(int K, Task<StoryRun> Run)>();
        var next = 0;
        bool TimeLeft() => context.IsSubset || DateTime.UtcNow < until;
        while (running.Count > 0 || (next < ks.Count && TimeLeft()))
        {
            while (running.Count < sideBySide && next < ks.Count && TimeLeft())
            {
                var k = order[next++];
                running.Add((k, RunStoryAsync(context, cluster, $"sieve-k{k}", (k, baseline.Outcomes), cancellationToken)));
            }

            var done = await Task.WhenAny(running.Select(r => r.Run)).ConfigureAwait(false);
            var (doneK, _) = running.Single(r => r.Run == done);
            running.RemoveAll(r => r.Run == done);
            result.Runs++;
            StoryRun run;
            try
            {
                run = await done.ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                result.Violation($"k={doneK}: the run itself failed: {e.Message}");
                covered.Add(doneK);
                continue;
            }

            context.Log($"crash at every write: k={doneK} {(run.Killed ? "killed" : "not killed")}, {run.Violations.Count} violation(s), {run.Took.TotalSeconds:0.0} s");
            covered.Add(doneK);
            rssAfterMax = Math.Max(rssAfterMax, run.Rss.After ?? 0);
            if (run.Killed)
            {
                result.Interruptions++;
                result.RecoverySeconds.Add(run.RecoverySeconds);
            }
            else
            {
                lateKills++;
            }

            result.Violations.AddRange(run.Violations.Select(v => $"k={doneK} (after {writes[doneK - 1]}): {v}"));
        }

        covered.Sort();
        // Before: the uncrashed run's operator at its start; after: the highest of any operator at its story's end.
        if (baseline.Rss.Before is { } before)
        {
            result.RssMiB = (before, Math.Max(rssAfterMax, baseline.Rss.After ?? 0));
        }

        result.Notes.Add(context.IsSubset
            ? $"subset: k in {{{string.Join(", ", covered)}}} of K = {writes.Count}"
            : ks.Count == writes.Count
                ? $"every k: covered {covered.Count} of K = {writes.Count}{(covered.Count < writes.Count ? " (the slice ran out)" : "")}, up to {sideBySide} stories side by side"
                : $"k by a seeded stride of {(ks.Count > 1 ? ks[1] - ks[0] : writes.Count)} from k = {ks[0]} (every k did not fit the slice): covered {covered.Count} of {ks.Count} (k = {string.Join(",", covered)}) of K = {writes.Count}, up to {sideBySide} stories side by side");
        if (lateKills > 0)
        {
            result.Notes.Add($"{lateKills} run(s) made fewer than k writes, so their operator was never killed (the write count varies a little between runs)");
        }

        return result;
    }

    /// <summary>
    /// The k to crash at, in order: every k in 1..<paramref name="writes"/> when that many runs fit; otherwise a seeded
    /// stride (1 + offset, 1 + offset + stride, ...) so the runs that fit still spread over the whole story; in the
    /// subset, a seeded sample of <paramref name="fit"/>.
    /// </summary>
    public static IReadOnlyList<int> CrashPoints(int writes, int fit, bool sample, Random random)
    {
        fit = Math.Max(1, fit);
        if (sample)
        {
            return Enumerable.Range(1, writes).OrderBy(_ => random.Next()).Take(fit).Order().ToList();
        }

        if (fit >= writes)
        {
            return Enumerable.Range(1, writes).ToList();
        }

        var stride = (writes + fit - 1) / fit;
        var offset = random.Next(stride);
        return Enumerable.Range(0, writes).Where(i => i % stride == offset).Select(i => i + 1).ToList();
    }

    private sealed record StoryRun(IReadOnlyList<string> Violations, IReadOnlyList<string> Writes, IReadOnlyList<JobOutcome> Outcomes, TimeSpan Took, bool Killed, double RecoverySeconds, (double? Before, double? After) Rss);

    /// <summary>One story in a fresh namespace with its own operator; with <paramref name="killAfter"/>, the operator is SIGKILLed right after its k-th write and restarted.</summary>
    private static async Task<StoryRun> RunStoryAsync(ChaosContext context, LocalTestCluster cluster, string identity, (int K, IReadOnlyList<JobOutcome> Baseline)? killAfter, CancellationToken ct)
    {
        var ns = await cluster.NewNamespaceAsync(identity).ConfigureAwait(false);
        var userAgent = OperatorUserAgent.For(identity);
        var violations = new List<string>();
        var operators = new List<OperatorProcess>();
        var first = OperatorProcess.Start(cluster.KubeconfigPath, ns, identity);
        operators.Add(first);
        using var killer = new WriteKiller(cluster.Plane.AuditLog, userAgent, killAfter?.K, first.Pid);
        await using var invariants = await JobInvariants.StartAsync(cluster.Client, ns, ct).ConfigureAwait(false);
        // RSS before: the operator up, leading and synced (its heap warm), not the bare process just started.
        await first.WaitReadyAndLeadingAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        var rssBefore = first.RssMiB();
        var restart = RestartAfterKillAsync(killer, cluster, ns, identity, operators, ct);
        var story = await new JobStory(cluster.Client, ns, context.NewDirectory($"go-{ns}")).RunAsync(ct).ConfigureAwait(false);
        if (killAfter is not null && !killer.Fired.IsCompleted)
        {
            // The k-th write may still be on its way (an Event after the last status write).
            await Task.WhenAny(killer.Fired, Task.Delay(TimeSpan.FromSeconds(3), ct)).ConfigureAwait(false);
        }

        killer.Disarm();
        double? recovery = null;
        try
        {
            var leading = await restart.ConfigureAwait(false);
            // Recovery: from the kill to the restarted operator's next write; when it had nothing left to write (k was
            // the last write), to its leading with synced caches.
            recovery = killer.SecondsToNextWrite ?? leading;
        }
        catch (TimeoutException e)
        {
            violations.Add($"{ns}: the restarted operator never led with synced caches: {e.Message}");
        }

        violations.AddRange(await invariants.CheckAsync(story, killAfter?.Baseline, TimeSpan.FromSeconds(15), ct).ConfigureAwait(false));
        if (story.Stuck is not null)
        {
            violations.Add($"{ns} story steps: {string.Join(" | ", story.Steps)}");
        }

        var outcomes = await JobInvariants.OutcomesAsync(cluster.Client, ns, story.Jobs.Select(j => j.Name), ct).ConfigureAwait(false);
        var rssAfter = operators[^1].RssMiB();
        await ClusterEvidence.CollectAsync(context, cluster, ns, operators).ConfigureAwait(false);
        foreach (var op in operators)
        {
            if (!op.HasExited)
            {
                await op.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            }

            await op.DisposeAsync().ConfigureAwait(false);
        }

        return new StoryRun(violations, killer.Writes, outcomes, story.Took, killer.Fired.IsCompleted, recovery ?? 0, (rssBefore, rssAfter));
    }

    /// <summary>Once the killer fired: waits for the dead operator, starts it again with the same identity, and returns the seconds until it leads with synced caches.</summary>
    private static async Task<double?> RestartAfterKillAsync(WriteKiller killer, LocalTestCluster cluster, string ns, string identity, List<OperatorProcess> operators, CancellationToken ct)
    {
        // Which task's continuation runs first is a race when both complete; the kill, if any, completed Fired before
        // Disarm could return (both under the killer's lock), so Fired decides.
        await Task.WhenAny(killer.Fired, killer.Disarmed).ConfigureAwait(false);
        if (!killer.Fired.IsCompleted)
        {
            return null;
        }

        var clock = Stopwatch.StartNew();
        await operators[^1].KillAsync().ConfigureAwait(false);
        var second = OperatorProcess.Start(cluster.KubeconfigPath, ns, identity);
        lock (operators)
        {
            operators.Add(second);
        }

        await second.WaitReadyAndLeadingAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        return clock.Elapsed.TotalSeconds;
    }

    private static string Summary(IReadOnlyList<string> writes) =>
        string.Join(", ", writes.GroupBy(w => w.Split(' ')[0] + " " + w.Split(' ')[1]).OrderByDescending(g => g.Count()).Select(g => $"{g.Count()} {g.Key}"));

    /// <summary>
    /// Counts one operator's API writes as the audit log records them and SIGKILLs it right after the k-th, inside the
    /// observer: no further request of it is audited before the signal is sent.
    /// </summary>
    private sealed partial class WriteKiller : IDisposable
    {
        private readonly AuditLog _audit;
        private readonly string _userAgent;
        private readonly int? _k;
        private readonly int _pid;
        private readonly List<string> _writes = [];
        private readonly TaskCompletionSource _fired = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _disarmed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _killedAt;
        private long _nextWriteAt;

        public WriteKiller(AuditLog audit, string userAgent, int? k, int pid)
        {
            _audit = audit;
            _userAgent = userAgent;
            _k = k;
            _pid = pid;
            _audit.Appended += OnAppended;
        }

        public Task Fired => _fired.Task;

        public Task Disarmed => _disarmed.Task;

        public IReadOnlyList<string> Writes
        {
            get
            {
                lock (_writes)
                {
                    return _writes.ToList();
                }
            }
        }

        /// <summary>Seconds from the kill to the first write after it (the restarted operator's), or null when none came.</summary>
        public double? SecondsToNextWrite
        {
            get
            {
                lock (_writes)
                {
                    return _killedAt != 0 && _nextWriteAt != 0 ? Stopwatch.GetElapsedTime(_killedAt, _nextWriteAt).TotalSeconds : null;
                }
            }
        }

        public void Disarm()
        {
            lock (_writes)
            {
                _disarmed.TrySetResult();
            }
        }

        public void Dispose()
        {
            _audit.Appended -= OnAppended;
            Disarm();
        }

        private void OnAppended(AuditEntry entry)
        {
            if (entry.UserAgent != _userAgent || !IsWrite(entry))
            {
                return;
            }

            lock (_writes)
            {
                _writes.Add($"{entry.Verb} {entry.Resource}{(entry.Subresource.Length > 0 ? "/" + entry.Subresource : "")} {entry.Name}");
                var count = _writes.Count;
                if (count == _k && !_disarmed.Task.IsCompleted)
                {
                    _ = Kill(_pid, 9);
                    _killedAt = Stopwatch.GetTimestamp();
                    _fired.TrySetResult();
                }
                else if (count > _k && _killedAt != 0 && _nextWriteAt == 0)
                {
                    _nextWriteAt = Stopwatch.GetTimestamp();
                }
            }
        }

        /// <summary>A write of the API as RBAC counts one that changed something: create, update, patch, delete, accepted.</summary>
        public static bool IsWrite(AuditEntry entry) => entry.Verb is "create" or "update" or "patch" or "delete" && entry.Code < 400;

        [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
        private static partial int Kill(int pid, int signal);
    }
}
