using System.Diagnostics;
using K8sTraining.Operator.Api;
using k8s;
using k8s.Models;

namespace K8sTraining.Chaos.Cluster;

/// <summary>The part of a job's final status two runs of the story must agree on.</summary>
public sealed record JobOutcome(string Job, string Phase, int Attempt, int Preemptions, int Restarts, string Conditions)
{
    public static JobOutcome Of(TrainingJob job) => new(
        job.Metadata.Name,
        job.Status?.Phase ?? "(none)",
        job.Status?.Attempt ?? 0,
        job.Status?.Preemptions ?? 0,
        job.Status?.Restarts ?? 0,
        string.Join(", ", (job.Status?.Conditions ?? []).OrderBy(c => c.Type, StringComparer.Ordinal).Select(c => $"{c.Type}={c.Status}/{c.Reason}")));

    public override string ToString() => $"{Phase}, attempt {Attempt}, preemptions {Preemptions}, restarts {Restarts}, [{Conditions}]";
}

/// <summary>
/// The invariants every cluster scenario checks after a story (issue 19 §2): never more live pods of one job at once
/// than spec.workers (a watch-fed census: a pod is live from the moment it exists until it is terminal or gone); no job
/// lost or stuck; status.preemptions, status.restarts and the attempt count equal what the story really caused; and
/// the final status equals the uncrashed run's. Start it before the story, check after.
/// </summary>
public sealed class JobInvariants : IAsyncDisposable
{
    private readonly IKubernetes _client;
    private readonly string _ns;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, V1Pod> _pods = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (int Count, string Pods)> _mostLive = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _census;

    private JobInvariants(IKubernetes client, string ns)
    {
        _client = client;
        _ns = ns;
        _census = Task.Run(() => CensusAsync(_stop.Token));
    }

    /// <summary>Starts the census of <paramref name="ns"/>'s pods; call it before the story creates its first job.</summary>
    public static async Task<JobInvariants> StartAsync(IKubernetes client, string ns, CancellationToken cancellationToken)
    {
        var invariants = new JobInvariants(client, ns);
        // The census must have its first list before the story acts, or a first overlap could go unseen.
        var deadline = Stopwatch.StartNew();
        while (!invariants.Listed && deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }

        return invariants;
    }

    /// <summary>Set once the census listed the namespace (and then watches it).</summary>
    public bool Listed { get; private set; }

    /// <summary>Watches that ended early and were resumed by a relist.</summary>
    public int CensusRelists { get; private set; }

    /// <summary>The most live pods each job had at once.</summary>
    public IReadOnlyDictionary<string, int> MaxLive
    {
        get
        {
            lock (_gate)
            {
                return _mostLive.ToDictionary(p => p.Key, p => p.Value.Count, StringComparer.Ordinal);
            }
        }
    }

    /// <summary>Reads the final outcome of each of the story's jobs (for the uncrashed run: the baseline).</summary>
    public static async Task<IReadOnlyList<JobOutcome>> OutcomesAsync(IKubernetes client, string ns, IEnumerable<string> jobs, CancellationToken cancellationToken)
    {
        var outcomes = new List<JobOutcome>();
        foreach (var name in jobs)
        {
            var job = await client.CustomObjects.GetNamespacedCustomObjectAsync<TrainingJob>(TrainingJob.KubeGroup, TrainingJob.KubeVersion, ns, TrainingJob.KubePlural, name, cancellationToken: cancellationToken).ConfigureAwait(false);
            outcomes.Add(JobOutcome.Of(job));
        }

        return outcomes;
    }

    /// <summary>
    /// Every violation of the story's run: overlaps the census saw, a stuck or lost job, counters that differ from what
    /// the story caused, and (with <paramref name="baseline"/>) a final status that differs from the uncrashed run's,
    /// after up to <paramref name="settle"/> for the status to converge.
    /// </summary>
    public async Task<IReadOnlyList<string>> CheckAsync(JobStoryResult story, IReadOnlyList<JobOutcome>? baseline, TimeSpan settle, CancellationToken cancellationToken)
    {
        var violations = new List<string>();
        if (story.Stuck is { } stuck)
        {
            violations.Add($"{_ns}: {stuck}");
        }

        var expected = ExpectedOutcomes(story, baseline);
        var deadline = Stopwatch.StartNew();
        IReadOnlyList<string> differences;
        while (true)
        {
            differences = await DifferencesAsync(story, expected, cancellationToken).ConfigureAwait(false);
            if (differences.Count == 0 || deadline.Elapsed >= settle || story.Stuck is not null)
            {
                break;
            }

            await Task.Delay(200, cancellationToken).ConfigureAwait(false);
        }

        violations.AddRange(differences);
        lock (_gate)
        {
            foreach (var job in story.Jobs)
            {
                if (!_mostLive.TryGetValue(job.Name, out var most))
                {
                    violations.Add($"{_ns}: the census never saw a live pod of {job.Name} (is the census broken?)");
                }
                else if (most.Count > job.Workers)
                {
                    violations.Add($"{_ns}/{job.Name}: {most.Count} live pods at once (spec.workers {job.Workers}): {most.Pods}");
                }
            }
        }

        return violations;
    }

    private static Dictionary<string, JobOutcome?> ExpectedOutcomes(JobStoryResult story, IReadOnlyList<JobOutcome>? baseline) =>
        story.Jobs.ToDictionary(j => j.Name, j => baseline?.FirstOrDefault(b => b.Job == j.Name), StringComparer.Ordinal);

    private async Task<IReadOnlyList<string>> DifferencesAsync(JobStoryResult story, Dictionary<string, JobOutcome?> baseline, CancellationToken ct)
    {
        var differences = new List<string>();
        foreach (var job in story.Jobs)
        {
            TrainingJob current;
            try
            {
                current = await _client.CustomObjects.GetNamespacedCustomObjectAsync<TrainingJob>(TrainingJob.KubeGroup, TrainingJob.KubeVersion, _ns, TrainingJob.KubePlural, job.Name, cancellationToken: ct).ConfigureAwait(false);
            }
            catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                differences.Add($"{_ns}/{job.Name} is lost (404)");
                continue;
            }

            var outcome = JobOutcome.Of(current);
            if (story.Stuck is null && outcome.Phase != JobPhases.Succeeded)
            {
                differences.Add($"{_ns}/{job.Name} ended {outcome.Phase}, not Succeeded: {outcome}");
            }

            if (outcome.Preemptions != job.Preemptions || outcome.Restarts != job.Restarts)
            {
                differences.Add($"{_ns}/{job.Name} counts preemptions {outcome.Preemptions}, restarts {outcome.Restarts}; the story caused {job.Preemptions} and {job.Restarts}");
            }

            if (story.Stuck is null && outcome.Attempt != job.Attempts)
            {
                differences.Add($"{_ns}/{job.Name} is at attempt {outcome.Attempt}; the story started {job.Attempts}");
            }

            if (story.Stuck is null && baseline.GetValueOrDefault(job.Name) is { } expected && expected != outcome)
            {
                differences.Add($"{_ns}/{job.Name} ended {outcome}; the uncrashed run ended {expected}");
            }
        }

        return differences;
    }

    private async Task CensusAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var list = await _client.CoreV1.ListNamespacedPodAsync(_ns, cancellationToken: ct).ConfigureAwait(false);
                lock (_gate)
                {
                    _pods.Clear();
                    foreach (var pod in list.Items)
                    {
                        _pods[pod.Metadata.Name] = pod;
                    }

                    Count();
                }

                Listed = true;
                await foreach (var (type, pod) in _client.CoreV1.WatchListNamespacedPodAsync(_ns, allowWatchBookmarks: true, resourceVersion: list.Metadata.ResourceVersion, timeoutSeconds: 300, cancellationToken: ct).ConfigureAwait(false))
                {
                    lock (_gate)
                    {
                        switch (type)
                        {
                            case WatchEventType.Added or WatchEventType.Modified:
                                _pods[pod.Metadata.Name] = pod;
                                break;
                            case WatchEventType.Deleted:
                                _pods.Remove(pod.Metadata.Name);
                                break;
                            default:
                                continue;
                        }

                        Count();
                    }
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A dropped or faulted watch: relist and watch again (an overlap shorter than the gap could go unseen).
            }

            CensusRelists++;
            try
            {
                await Task.Delay(50, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Live pods per job now, under the lock; each job's most at once is kept with the pods that made it.</summary>
    private void Count()
    {
        foreach (var group in _pods.Values.Where(IsLive).GroupBy(JobOf).Where(g => g.Key is not null))
        {
            var live = group.ToList();
            if (live.Count > _mostLive.GetValueOrDefault(group.Key!).Count)
            {
                _mostLive[group.Key!] = (live.Count, string.Join(", ", live.Select(Describe).Order(StringComparer.Ordinal)));
            }
        }
    }

    private static string Describe(V1Pod pod) =>
        $"{pod.Metadata.Name} ({pod.Status?.Phase ?? "no phase"}{(pod.Metadata.DeletionTimestamp is null ? "" : ", terminating")})";

    private static bool IsLive(V1Pod pod) => pod.Status?.Phase is not ("Succeeded" or "Failed");

    private static string? JobOf(V1Pod pod) => pod.Metadata.Labels?.TryGetValue(WellKnown.JobNameLabel, out var job) == true ? job : null;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _census.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException)
        {
        }

        _stop.Dispose();
    }
}
