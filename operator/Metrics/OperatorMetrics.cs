using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Reconciliation;
using k8s.Models;

namespace K8sTraining.Operator.Metrics;

/// <summary>
/// The operator's instruments (meter "K8sTraining.Operator"), exported on /metrics. Job series carry only
/// job_namespace and job_name (never a pod or a step); the names avoid Prometheus's own "job" and "namespace" target
/// labels, which a scrape would otherwise rename to exported_*. Fed with what the reconciler decided
/// (<see cref="IReconcileObserver"/>) and with the runtime's readings; it never reads the controller.
/// </summary>
public sealed class OperatorMetrics : IReconcileObserver, IDisposable
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
    private readonly IRuntimeReadings? _runtime;
    private readonly Counter<long> _reconciles;
    private readonly Histogram<double> _reconcileDuration;
    private readonly Counter<long> _podsCreated;
    private readonly Counter<long> _attemptsEnded;
    private readonly Counter<long> _statusWrites;
    private readonly Counter<long> _preemptions;
    private readonly Counter<long> _restarts;
    private readonly Histogram<double> _recovery;
    private readonly Counter<long> _stepsLost;

    /// <summary>Phase of every job this replica reconciles (namespace/name), refreshed by each reconcile and resync.</summary>
    private readonly ConcurrentDictionary<string, (string Namespace, string Phase)> _phases = new(StringComparer.Ordinal);

    /// <summary>Jobs (namespace/name) whose attempt was disrupted and whose replacement is not running yet: attempt and when seen.</summary>
    private readonly ConcurrentDictionary<string, (int Attempt, DateTimeOffset Seen)> _disrupted = new(StringComparer.Ordinal);

    /// <param name="runtime">The leader flag, the work queue and the watches, read at each scrape; null reads as a follower with nothing queued.</param>
    public OperatorMetrics(IRuntimeReadings? runtime = null)
    {
        _runtime = runtime;
        _reconciles = _meter.CreateCounter<long>("k8straining_operator_reconciles", description: "Reconciles by result (done, requeue, retry).");
        _reconcileDuration = _meter.CreateHistogram("k8straining_operator_reconcile_duration", "s", "Time spent in one reconcile.", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = ReconcileBuckets });
        _podsCreated = _meter.CreateCounter<long>("k8straining_operator_pods_created", description: "Trainer pods created.");
        _attemptsEnded = _meter.CreateCounter<long>("k8straining_operator_attempts_ended", description: "Attempts ended, by outcome (Succeeded, Preempted, Failed, ConfigurationError, Suspended, Stopped, StorageUnavailable, Reconfigured, DeadlineExceeded).");
        _statusWrites = _meter.CreateCounter<long>("k8straining_operator_status_writes", description: "Status subresource writes.");
        _preemptions = _meter.CreateCounter<long>("k8straining_operator_preemptions", description: "Attempts ended by preemption, by reason: the DisruptionTarget reason, exit-75 or deleted.");
        _restarts = _meter.CreateCounter<long>("k8straining_operator_restarts", description: "Attempts retried after a failure (counted against maxRestarts).");
        _recovery = _meter.CreateHistogram("k8straining_operator_recovery", "s", "Time from a disruption seen by the operator (for a lost Node, from its first sign) to the replacement pod running.", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = RecoveryBuckets });
        _stepsLost = _meter.CreateCounter<long>("k8straining_operator_steps_lost", description: "Steps trained past the checkpoint a replacement resumes from, when an attempt ended (what a node lost without warning cost).");
        _meter.CreateObservableGauge("k8straining_operator_jobs", ObserveJobs, description: "TrainingJobs by phase, as last reconciled by the leader (a new job without a phase counts as Pending).");
        _meter.CreateObservableGauge("k8straining_operator_work_queue_depth", () => (long)(_runtime?.QueueLength ?? 0), description: "Keys waiting in the work queue.");
        _meter.CreateObservableCounter("k8straining_operator_watch_restarts", () => (long)(_runtime?.WatchRestarts ?? 0), description: "Watches ended and restarted (server timeout, close, error) since this replica started leading.");
        _meter.CreateObservableGauge("k8straining_operator_leader", () => _runtime?.IsLeader == true ? 1L : 0L, description: "1 when this replica holds the leader lease and reconciles, else 0.");
    }

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
        _attemptsEnded.Add(1, new KeyValuePair<string, object?>("outcome", ended.Outcome));
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

    public void Reconciled(ReconcileResult result, TimeSpan took)
    {
        _reconcileDuration.Record(took.TotalSeconds);
        _reconciles.Add(1, new KeyValuePair<string, object?>("result", result switch
        {
            ReconcileResult.DoneResult => "done",
            ReconcileResult.RequeueAfterResult => "requeue",
            _ => "retry",
        }));
    }

    public void JobGone(string key) => Forget(key);

    public void Decided(TrainingJob job, Decision decision, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(decision);
        Observe(job, decision.Disruption ?? DisruptionSeen.None, now, decision.Status.NodeLoss);
    }

    public void PodCreated(TrainingJob job) => _podsCreated.Add(1);

    public void StatusWritten(TrainingJob job, TrainingJobStatus written)
    {
        _statusWrites.Add(1);
        RecordStatusWritten(job, written);
    }

    /// <summary>What <see cref="Observe"/> records for these pods, classified by <see cref="DisruptionSeen.Of"/> as the decider does.</summary>
    public void ObservePods(TrainingJob job, IReadOnlyList<V1Pod> pods, DateTimeOffset now, NodeLossRecord? nodeLoss = null)
    {
        ArgumentNullException.ThrowIfNull(job);
        Observe(job, DisruptionSeen.Of(job, pods), now, nodeLoss);
    }

    /// <summary>
    /// On every reconcile: notes when an attempt is first seen disrupted (terminating, DisruptionTarget, or ended as a
    /// preemption), and records the recovery time once a later attempt's pod runs.
    /// </summary>
    /// <param name="nodeLoss">The Node loss the decision recorded: recovery then counts from its first sign, not from when the pod was seen disrupted.</param>
    public void Observe(TrainingJob job, DisruptionSeen seen, DateTimeOffset now, NodeLossRecord? nodeLoss = null)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(seen);
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
            if (seen.NewestRunningAttempt > disrupted.Attempt)
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

        if (seen.DisruptedAttempt is { } attempt)
        {
            _disrupted.TryAdd(key, (attempt, now));
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

    private IEnumerable<Measurement<long>> ObserveJobs()
    {
        // Only the leader reconciles, so only the leader reports jobs: a sum over replicas stays right.
        if (_runtime?.IsLeader != true)
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
