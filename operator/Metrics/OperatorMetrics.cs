using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Reconciliation;
using K8sTraining.Operator.Runtime;
using k8s.Models;

namespace K8sTraining.Operator.Metrics;

/// <summary>
/// The operator's instruments (meter "K8sTraining.Operator"), exported on /metrics. Job series carry only
/// job_namespace and job_name (never a pod or a step); the names avoid Prometheus's own "job" and "namespace" target
/// labels, which a scrape would otherwise rename to exported_*.
/// </summary>
public sealed class OperatorMetrics : IDisposable
{
    public const string MeterName = "K8sTraining.Operator";

    /// <summary>Reconciles take milliseconds; anything near a second means the API server is slow.</summary>
    public static readonly IReadOnlyList<double> ReconcileBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>Recovery spans the trainer's shutdown checkpoint, scheduling and start-up: seconds to many minutes.</summary>
    public static readonly IReadOnlyList<double> RecoveryBuckets = [1, 2.5, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600];

    /// <summary>
    /// Every reason the preemption counter can carry. Each job's series start at 0 when the job is first reconciled:
    /// a counter that appears already at 1 shows no increase() in Prometheus, and the first preemption would vanish.
    /// </summary>
    public static readonly IReadOnlyList<string> PreemptionReasonLabels =
        [.. PodClassifier.PreemptionReasons.Concat(["exit-75", "deleted", WellKnown.DisruptionTarget, "Evicted", "Shutdown", "Terminated", "NodeShutdown", ConditionReasons.NodeLost, TerminationReasons.Superseded]).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    private readonly Meter _meter = new(MeterName);
    private readonly OperatorState? _state;
    private readonly Counter<long> _preemptions;
    private readonly Counter<long> _restarts;
    private readonly Histogram<double> _recovery;
    private readonly Counter<long> _stepsLost;

    /// <summary>Phase of every job this replica reconciles (namespace/name), refreshed by each reconcile and resync.</summary>
    private readonly ConcurrentDictionary<string, (string Namespace, string Phase)> _phases = new(StringComparer.Ordinal);

    /// <summary>Jobs (namespace/name) whose attempt was disrupted and whose replacement is not running yet: attempt and when seen.</summary>
    private readonly ConcurrentDictionary<string, (int Attempt, DateTimeOffset Seen)> _disrupted = new(StringComparer.Ordinal);

    public OperatorMetrics(OperatorState? state = null)
    {
        _state = state;
        Reconciles = _meter.CreateCounter<long>("k8straining_operator_reconciles", description: "Reconciles by result (done, requeue, retry).");
        ReconcileDuration = _meter.CreateHistogram("k8straining_operator_reconcile_duration", "s", "Time spent in one reconcile.", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = ReconcileBuckets });
        PodsCreated = _meter.CreateCounter<long>("k8straining_operator_pods_created", description: "Trainer pods created.");
        AttemptsEnded = _meter.CreateCounter<long>("k8straining_operator_attempts_ended", description: "Attempts ended, by outcome (Succeeded, Preempted, Failed, ConfigurationError, Suspended, Stopped).");
        StatusWrites = _meter.CreateCounter<long>("k8straining_operator_status_writes", description: "Status subresource writes.");
        _preemptions = _meter.CreateCounter<long>("k8straining_operator_preemptions", description: "Attempts ended by preemption, by reason: the DisruptionTarget reason, exit-75 or deleted.");
        _restarts = _meter.CreateCounter<long>("k8straining_operator_restarts", description: "Attempts retried after a failure (counted against maxRestarts).");
        _recovery = _meter.CreateHistogram("k8straining_operator_recovery", "s", "Time from a disruption seen by the operator (for a lost Node, from its first sign) to the replacement pod running.", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = RecoveryBuckets });
        _stepsLost = _meter.CreateCounter<long>("k8straining_operator_steps_lost", description: "Steps trained past the checkpoint a replacement resumes from, when an attempt ended (what a node lost without warning cost).");
        _meter.CreateObservableGauge("k8straining_operator_jobs", ObserveJobs, description: "TrainingJobs by phase, as last reconciled by the leader (a new job without a phase counts as Pending).");
        _meter.CreateObservableGauge("k8straining_operator_work_queue_depth", () => (long)(_state?.Controller?.QueueLength ?? 0), description: "Keys waiting in the work queue.");
        _meter.CreateObservableCounter("k8straining_operator_watch_restarts", () => (long)(_state?.Controller?.WatchRestarts ?? 0), description: "Watches ended and restarted (server timeout, close, error) since this replica started leading.");
        _meter.CreateObservableGauge("k8straining_operator_leader", () => _state?.IsLeader == true ? 1L : 0L, description: "1 when this replica holds the leader lease and reconciles, else 0.");
    }

    public Counter<long> Reconciles { get; }

    public Histogram<double> ReconcileDuration { get; }

    public Counter<long> PodsCreated { get; }

    public Counter<long> AttemptsEnded { get; }

    public Counter<long> StatusWrites { get; }

    /// <summary>The preemption reason label: "exit-75", "deleted", or the DisruptionTarget (or node) reason.</summary>
    public static string PreemptionReason(string? terminationReason) => terminationReason switch
    {
        "ExitCode75" => "exit-75",
        "PodDeleted" => "deleted",
        null or "" => WellKnown.DisruptionTarget,
        var r => r,
    };

    /// <summary>After a status write: counts the attempt that ended (preemption or failure retried) exactly once.</summary>
    public void RecordStatusWritten(TrainingJob job, TrainingJobStatus written)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(written);
        var before = job.Status;
        _phases[$"{job.Metadata.NamespaceProperty}/{job.Metadata.Name}"] = (job.Metadata.NamespaceProperty, written.Phase ?? JobPhases.Pending);
        if (written.LastTermination is not { } ended || ended.Attempt == before?.LastTermination?.Attempt)
        {
            return;
        }

        var (ns, name) = (job.Metadata.NamespaceProperty, job.Metadata.Name);
        AttemptsEnded.Add(1, new KeyValuePair<string, object?>("outcome", ended.Outcome));
        if (ended.Outcome == AttemptOutcomes.Preempted)
        {
            _preemptions.Add(1, new(JobMetricLabels.Namespace, ns), new(JobMetricLabels.Name, name), new("reason", PreemptionReason(ended.Reason)));
        }

        // The last known position (the trainer's live report, or its termination message) past the resume point.
        if (ended.Outcome is AttemptOutcomes.Preempted or AttemptOutcomes.Failed && written.Progress is { } progress)
        {
            var lost = Math.Max(0, progress.GlobalStep - (written.ResumeFrom?.GlobalStep ?? 0));
            _stepsLost.Add(lost, new(JobMetricLabels.Namespace, ns), new(JobMetricLabels.Name, name));
        }

        if (written.Restarts > (before?.Restarts ?? 0))
        {
            _restarts.Add(written.Restarts - (before?.Restarts ?? 0), new(JobMetricLabels.Namespace, ns), new(JobMetricLabels.Name, name));
        }
    }

    /// <summary>
    /// On every reconcile: notes when an attempt is first seen disrupted (terminating, DisruptionTarget, or ended as a
    /// preemption), and records the recovery time once a later attempt's pod runs.
    /// </summary>
    /// <param name="nodeLoss">The Node loss the decision recorded: recovery then counts from its first sign, not from when the pod was seen disrupted.</param>
    public void ObservePods(TrainingJob job, IReadOnlyList<V1Pod> pods, DateTimeOffset now, NodeLossRecord? nodeLoss = null)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(pods);
        var key = $"{job.Metadata.NamespaceProperty}/{job.Metadata.Name}";
        if (!_phases.ContainsKey(key))
        {
            StartCounters(job.Metadata.NamespaceProperty, job.Metadata.Name);
        }

        _phases[key] = (job.Metadata.NamespaceProperty, job.Status?.Phase ?? JobPhases.Pending);
        if (nodeLoss is { Since: { } lostSince, ReplacedAt: null } && !JobPhases.IsTerminal(job.Status?.Phase))
        {
            var since = new DateTimeOffset(DateTime.SpecifyKind(lostSince, DateTimeKind.Utc));
            _disrupted.AddOrUpdate(key, (nodeLoss.Attempt, since), (_, old) => old.Attempt == nodeLoss.Attempt && old.Seen <= since ? old : (nodeLoss.Attempt, since));
        }

        if (_disrupted.TryGetValue(key, out var disrupted))
        {
            if (pods.Any(p => PodClassifier.AttemptOf(p) > disrupted.Attempt && PodClassifier.StateOf(p) == PodState.Running))
            {
                _recovery.Record((now - disrupted.Seen).TotalSeconds, new KeyValuePair<string, object?>(JobMetricLabels.Namespace, job.Metadata.NamespaceProperty));
                _disrupted.TryRemove(key, out _);
            }

            return;
        }

        if (JobPhases.IsTerminal(job.Status?.Phase))
        {
            return;
        }

        foreach (var pod in pods)
        {
            if (PodClassifier.AttemptOf(pod) is { } attempt && attempt == job.Status?.Attempt && IsDisrupted(pod))
            {
                _disrupted.TryAdd(key, (attempt, now));
                return;
            }
        }
    }

    /// <summary>Stops tracking a job that is gone.</summary>
    public void Forget(string key)
    {
        _disrupted.TryRemove(key, out _);
        _phases.TryRemove(key, out _);
    }

    public void Dispose() => _meter.Dispose();

    private void StartCounters(string ns, string name)
    {
        foreach (var reason in PreemptionReasonLabels)
        {
            _preemptions.Add(0, new(JobMetricLabels.Namespace, ns), new(JobMetricLabels.Name, name), new("reason", reason));
        }

        _restarts.Add(0, new(JobMetricLabels.Namespace, ns), new(JobMetricLabels.Name, name));
        _stepsLost.Add(0, new(JobMetricLabels.Namespace, ns), new(JobMetricLabels.Name, name));
    }

    private static bool IsDisrupted(V1Pod pod)
    {
        if (pod.Status?.Conditions?.Any(c => c.Type == WellKnown.DisruptionTarget && c.Status == "True") == true)
        {
            return true;
        }

        return PodClassifier.StateOf(pod) switch
        {
            PodState.Terminating => true,
            PodState.Ended => PodClassifier.Classify(pod).IsPreemption,
            _ => false,
        };
    }

    private IEnumerable<Measurement<long>> ObserveJobs()
    {
        // Only the leader reconciles, so only the leader reports jobs: a sum over replicas stays right.
        if (_state?.IsLeader != true)
        {
            return [];
        }

        // Every phase of every namespace that has a job, zeros included, so a phase that empties drops to 0.
        return _phases.Values
            .GroupBy(j => j.Namespace, StringComparer.Ordinal)
            .SelectMany(g => JobPhases.All.Select(phase => new Measurement<long>(
                g.Count(j => j.Phase == phase),
                new KeyValuePair<string, object?>(JobMetricLabels.Namespace, g.Key),
                new KeyValuePair<string, object?>("phase", phase))))
            .ToList();
    }
}
