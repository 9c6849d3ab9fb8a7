using System.Diagnostics;
using System.Globalization;
using K8sTraining.ClusterSupport;
using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace K8sTraining.Chaos.Cluster;

/// <summary>What the story did to one job, so the invariants know what its status must say.</summary>
public sealed record StoryJob(string Name, int Workers, int Preemptions, int Restarts, int Suspends)
{
    /// <summary>Every disruption, failure and suspend starts one more attempt.</summary>
    public int Attempts => 1 + Preemptions + Restarts + Suspends;
}

/// <summary>One run of the story: what it caused per job, where it got stuck (if it did), and how long it took.</summary>
public sealed record JobStoryResult(string Namespace, IReadOnlyList<StoryJob> Jobs, string? Stuck, IReadOnlyList<string> Steps, TimeSpan Took);

/// <summary>How the story runs: a helper running it under API faults or node loss may give the steps more time.</summary>
public sealed record JobStoryOptions
{
    /// <summary>The longest one step may wait for the job to reach its next state before the job counts as stuck.</summary>
    public TimeSpan StepTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Applied to each job's spec after the story's own settings (node selectors, tolerations, grace).</summary>
    public Action<TrainingJobSpec>? Change { get; init; }
}

/// <summary>
/// §2's story on one namespace, driven by the cluster's state and never by timing: a job that is evicted (policy/v1
/// Eviction) while Running, replaced by attempt 2 and succeeds; then a job whose first attempt fails (exit 1), is retried
/// and succeeds; then a job suspended while Running (its pod goes, phase Suspended), resumed, and succeeds. The
/// "trainers" are script pods that stop with 75 on SIGTERM and otherwise wait for a go file naming their exit code, so
/// each attempt ends exactly when and how the story says. Reusable: the sieve, API fault and leader churn scenarios all
/// run it and check <see cref="JobInvariants"/> after.
/// </summary>
public sealed class JobStory(IKubernetes client, string ns, string goDirectory, JobStoryOptions? options = null)
{
    public const string Evicted = "evicted";
    public const string Retried = "retried";
    public const string Paused = "paused";

    /// <summary>The jobs in the order the story runs them.</summary>
    public static IReadOnlyList<string> JobNames { get; } = [Evicted, Retried, Paused];

    private readonly JobStoryOptions _options = options ?? new JobStoryOptions();
    private readonly List<string> _steps = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public string Namespace => ns;

    public async Task<JobStoryResult> RunAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(goDirectory);
        var jobs = new List<StoryJob>();
        try
        {
            jobs.Add(await EvictedAsync(cancellationToken).ConfigureAwait(false));
            jobs.Add(await RetriedAsync(cancellationToken).ConfigureAwait(false));
            jobs.Add(await PausedAsync(cancellationToken).ConfigureAwait(false));
            return new JobStoryResult(ns, jobs, null, _steps, _clock.Elapsed);
        }
        catch (StuckException e)
        {
            return new JobStoryResult(ns, [.. jobs, e.Job], e.Message, _steps, _clock.Elapsed);
        }
    }

    private async Task<StoryJob> EvictedAsync(CancellationToken ct)
    {
        var job = new StoryJob(Evicted, 1, 0, 0, 0);
        await CreateAsync(Evicted, ct).ConfigureAwait(false);
        await WaitAsync(job, s => s is { Phase: JobPhases.Running, Attempt: 1 }, "attempt 1 Running", ct).ConfigureAwait(false);
        await EvictAsync(job, $"{Evicted}-attempt-1", ct).ConfigureAwait(false);
        job = job with { Preemptions = 1 };
        await WaitAsync(job, s => s is { Phase: JobPhases.Running, Attempt: 2 }, "the replacement (attempt 2) Running", ct).ConfigureAwait(false);
        Go(Evicted, 2, 0);
        await WaitAsync(job, s => s.Phase == JobPhases.Succeeded, "Succeeded", ct).ConfigureAwait(false);
        return job;
    }

    private async Task<StoryJob> RetriedAsync(CancellationToken ct)
    {
        var job = new StoryJob(Retried, 1, 0, 0, 0);
        await CreateAsync(Retried, ct).ConfigureAwait(false);
        await WaitAsync(job, s => s is { Phase: JobPhases.Running, Attempt: 1 }, "attempt 1 Running", ct).ConfigureAwait(false);
        Go(Retried, 1, 1);
        job = job with { Restarts = 1 };
        await WaitAsync(job, s => s is { Phase: JobPhases.Running, Attempt: 2 }, "the retry (attempt 2) Running", ct).ConfigureAwait(false);
        Go(Retried, 2, 0);
        await WaitAsync(job, s => s.Phase == JobPhases.Succeeded, "Succeeded", ct).ConfigureAwait(false);
        return job;
    }

    private async Task<StoryJob> PausedAsync(CancellationToken ct)
    {
        var job = new StoryJob(Paused, 1, 0, 0, 0);
        await CreateAsync(Paused, ct).ConfigureAwait(false);
        await WaitAsync(job, s => s is { Phase: JobPhases.Running, Attempt: 1 }, "attempt 1 Running", ct).ConfigureAwait(false);
        await SuspendAsync(Paused, true, ct).ConfigureAwait(false);
        job = job with { Suspends = 1 };
        await WaitAsync(job, s => s.Phase == JobPhases.Suspended, "Suspended", ct).ConfigureAwait(false);
        await WaitForNoPodsAsync(job, ct).ConfigureAwait(false);
        await SuspendAsync(Paused, false, ct).ConfigureAwait(false);
        await WaitAsync(job, s => s is { Phase: JobPhases.Running, Attempt: 2 }, "resumed (attempt 2) Running", ct).ConfigureAwait(false);
        Go(Paused, 2, 0);
        await WaitAsync(job, s => s.Phase == JobPhases.Succeeded, "Succeeded", ct).ConfigureAwait(false);
        return job;
    }

    /// <summary>
    /// The script "trainer": SIGTERM stops it with 75 (as the trainer after its checkpoint); otherwise it waits for the
    /// go file of its job and attempt and exits with the code written there.
    /// </summary>
    public static string Script(string goDirectory, string job) =>
        $"trap 'exit 75' TERM; go=\"{goDirectory}/{job}-${TrainerEnvironment.Attempt}\"; " +
        "while [ ! -f \"$go\" ]; do sleep 0.2; done; exit \"$(cat \"$go\")\"";

    private async Task CreateAsync(string name, CancellationToken ct)
    {
        var job = LocalTestCluster.ScriptJob(ns, name, Script(goDirectory, name), s =>
        {
            s.TerminationGracePeriodSeconds = 10;
            s.RestartBackoffSeconds = 1;
            s.MaxRestarts = 3;
            _options.Change?.Invoke(s);
        });
        await client.CustomObjects.CreateNamespacedCustomObjectAsync(job, TrainingJob.KubeGroup, TrainingJob.KubeVersion, ns, TrainingJob.KubePlural, cancellationToken: ct).ConfigureAwait(false);
        Step($"{name}: created");
    }

    /// <summary>Lets attempt <paramref name="attempt"/> of <paramref name="job"/> end with <paramref name="exitCode"/> (written whole, then renamed).</summary>
    private void Go(string job, int attempt, int exitCode)
    {
        var path = Path.Combine(goDirectory, $"{job}-{attempt.ToString(CultureInfo.InvariantCulture)}");
        File.WriteAllText(path + ".tmp", exitCode.ToString(CultureInfo.InvariantCulture));
        File.Move(path + ".tmp", path, overwrite: true);
        Step($"{job}: go for attempt {attempt} (exit {exitCode})");
    }

    private async Task EvictAsync(StoryJob job, string pod, CancellationToken ct)
    {
        var eviction = new V1Eviction { Metadata = new V1ObjectMeta { Name = pod, NamespaceProperty = ns } };
        try
        {
            await client.CoreV1.CreateNamespacedPodEvictionAsync(eviction, pod, ns, cancellationToken: ct).ConfigureAwait(false);
        }
        catch (HttpOperationException e)
        {
            throw new StuckException(job, $"{job.Name}: the eviction of {pod} failed with {(int)e.Response.StatusCode}: {e.Response.Content}");
        }

        Step($"{job.Name}: evicted {pod}");
    }

    private async Task SuspendAsync(string name, bool suspend, CancellationToken ct)
    {
        var patch = new V1Patch($"{{\"spec\":{{\"suspend\":{(suspend ? "true" : "false")}}}}}", V1Patch.PatchType.MergePatch);
        await client.CustomObjects.PatchNamespacedCustomObjectAsync(patch, TrainingJob.KubeGroup, TrainingJob.KubeVersion, ns, TrainingJob.KubePlural, name, cancellationToken: ct).ConfigureAwait(false);
        Step($"{name}: spec.suspend {suspend}");
    }

    private async Task WaitAsync(StoryJob job, Func<TrainingJobStatus, bool> reached, string what, CancellationToken ct)
    {
        var deadline = Stopwatch.StartNew();
        TrainingJobStatus? last = null;
        while (deadline.Elapsed < _options.StepTimeout)
        {
            ct.ThrowIfCancellationRequested();
            try
            {
                var current = await client.CustomObjects.GetNamespacedCustomObjectAsync<TrainingJob>(TrainingJob.KubeGroup, TrainingJob.KubeVersion, ns, TrainingJob.KubePlural, job.Name, cancellationToken: ct).ConfigureAwait(false);
                last = current.Status;
                if (last is not null && reached(last))
                {
                    Step($"{job.Name}: {what}");
                    return;
                }
            }
            catch (HttpOperationException e) when ((int)e.Response.StatusCode >= 429)
            {
                // A scenario may inject API faults into the story's own reads too; the next poll tries again.
            }

            await Task.Delay(100, ct).ConfigureAwait(false);
        }

        throw new StuckException(job, $"{job.Name} stuck: not {what} within {_options.StepTimeout.TotalSeconds:0} s; last status phase {last?.Phase ?? "(none)"}, attempt {last?.Attempt}, preemptions {last?.Preemptions}, restarts {last?.Restarts}");
    }

    private async Task WaitForNoPodsAsync(StoryJob job, CancellationToken ct)
    {
        var deadline = Stopwatch.StartNew();
        var selector = $"{WellKnown.JobNameLabel}={job.Name}";
        var left = -1;
        while (deadline.Elapsed < _options.StepTimeout)
        {
            try
            {
                left = (await client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: selector, cancellationToken: ct).ConfigureAwait(false)).Items.Count;
                if (left == 0)
                {
                    Step($"{job.Name}: its pods are gone");
                    return;
                }
            }
            catch (HttpOperationException e) when ((int)e.Response.StatusCode >= 429)
            {
            }

            await Task.Delay(100, ct).ConfigureAwait(false);
        }

        throw new StuckException(job, $"{job.Name} stuck: {left} pod(s) still present {_options.StepTimeout.TotalSeconds:0} s after it was Suspended");
    }

    private void Step(string text) => _steps.Add($"{_clock.Elapsed.TotalSeconds,6:0.0} s {text}");

    private sealed class StuckException(StoryJob job, string message) : Exception(message)
    {
        public StoryJob Job { get; } = job;
    }
}
