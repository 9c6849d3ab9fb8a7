using System.Globalization;
using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Reconciliation;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace K8sTraining.Operator.Runtime;

/// <summary>
/// Asks the trainer of a running attempt where it is: one GET of its /metrics (the container port named "metrics",
/// on the pod IP), as KubeRay asks the Ray dashboard. With the checkpoint-sync sidecar (spec.checkpoint.sync sidecar)
/// the committed position is the sidecar's to tell: its port ("sync-metrics") is asked first, then the trainer's, best
/// effort, for the live position (a trainer that serves none reports the committed position as its progress). Only samples labelled with this job count, so a port shared
/// on one host (the local cluster) never mixes two jobs up. Any failure (no IP yet, a NetworkPolicy, a slow trainer)
/// only means no report this time: the status then moves when the attempt ends, as without the probe.
/// </summary>
/// <remarks>
/// Each pod is asked at most once per <paramref name="interval"/>, however often its job is reconciled (every status
/// write comes back as a watch event). A pod that did not answer in time (or answered with an error) is left alone
/// longer (doubling from 30 s to 10 min), so a cluster whose NetworkPolicy drops the operator's packets costs one
/// timeout per pod now and then. A refused connection (a trainer still starting) is cheap and asked again next time.
/// </remarks>
public sealed partial class TrainerProgressProbe(HttpClient http, TimeProvider time, TimeSpan interval, ILogger<TrainerProgressProbe> logger) : ITrainerProgress
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    public static readonly TimeSpan FirstBackoff = TimeSpan.FromSeconds(30);

    public static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(10);

    /// <summary>Per pod: when it may be asked again, and the backoff after failures (zero after an answer).</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (DateTimeOffset Due, TimeSpan Backoff)> _schedule = new();

    public TimeSpan Interval => interval;

    /// <summary>How long until this pod may be asked again (zero when it may be now).</summary>
    public TimeSpan DueIn(V1Pod pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        return _schedule.TryGetValue(KeyOf(pod), out var entry) && entry.Due > time.GetUtcNow() ? entry.Due - time.GetUtcNow() : TimeSpan.Zero;
    }

    public async Task<TrainerReport?> ReadAsync(TrainingJob job, V1Pod pod, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(pod);
        var trainerPort = pod.Spec?.Containers?.SelectMany(c => c.Ports ?? []).FirstOrDefault(p => p.Name == WellKnown.MetricsPortName)?.ContainerPort;
        var syncPort = pod.Spec?.InitContainers?.FirstOrDefault(c => c.Name == CheckpointSyncContract.ContainerName)?.Ports?
            .FirstOrDefault(p => p.Name == WellKnown.SyncMetricsPortName)?.ContainerPort;
        var port = syncPort ?? trainerPort;
        var ip = pod.Status?.PodIP;
        if (pod.Status?.Phase != "Running" || port is null || string.IsNullOrEmpty(ip))
        {
            return null;
        }

        var key = KeyOf(pod);
        if (_schedule.TryGetValue(key, out var scheduled) && time.GetUtcNow() < scheduled.Due)
        {
            return null;
        }

        var host = ip.Contains(':', StringComparison.Ordinal) ? $"[{ip}]" : ip;
        string Url(int p) => $"http://{host}:{p.ToString(CultureInfo.InvariantCulture)}/metrics";
        var url = Url(port.Value);
        try
        {
            var samples = PrometheusText.Parse(await GetAsync(url, cancellationToken).ConfigureAwait(false));
            _schedule[key] = (time.GetUtcNow() + interval, TimeSpan.Zero);
            ForgetEndedPods();
            if (syncPort is not null && trainerPort is { } own)
            {
                samples = [.. samples, .. await TryScrapeAsync(Url(own), cancellationToken).ConfigureAwait(false)];
            }

            return Report(job, pod.Metadata.Name, samples);
        }
        catch (HttpRequestException e) when (e.InnerException is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.ConnectionRefused })
        {
            // Refused at once: the trainer is still starting (loading data, restoring a checkpoint). Cheap; ask again.
            LogUnreachable(logger, job.Metadata.NamespaceProperty, pod.Metadata.Name, url, e.Message, 0);
            return null;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            var backoff = _schedule.TryGetValue(key, out var previous) && previous.Backoff > TimeSpan.Zero
                ? TimeSpan.FromTicks(Math.Min(previous.Backoff.Ticks * 2, MaxBackoff.Ticks))
                : FirstBackoff;
            _schedule[key] = (time.GetUtcNow() + backoff, backoff);
            ForgetEndedPods();
            LogUnreachable(logger, job.Metadata.NamespaceProperty, pod.Metadata.Name, url, e.Message, backoff.TotalSeconds);
            return null;
        }
    }

    private async Task<string> GetAsync(string url, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        return await http.GetStringAsync(new Uri(url), timeout.Token).ConfigureAwait(false);
    }

    /// <summary>A trainer beside the sidecar may serve no /metrics at all: no samples then, and no backoff.</summary>
    private async Task<IReadOnlyList<PrometheusSample>> TryScrapeAsync(string url, CancellationToken cancellationToken)
    {
        try
        {
            return PrometheusText.Parse(await GetAsync(url, cancellationToken).ConfigureAwait(false));
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return [];
        }
    }

    /// <summary>
    /// The report in a scrape, from the samples labelled with this job; null when the position is missing. Without the
    /// position gauges (a checkpoint-sync sidecar serves only the committed and resumed positions) the committed
    /// position, else the resumed one, stands for it.
    /// </summary>
    public static TrainerReport? Report(TrainingJob job, string pod, IReadOnlyList<PrometheusSample> samples)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(samples);
        IEnumerable<PrometheusSample> Samples(string name) => samples
            .Where(s => s.Name == name
                && s.Labels.GetValueOrDefault(JobMetricLabels.Namespace) == job.Metadata.NamespaceProperty
                && s.Labels.GetValueOrDefault(JobMetricLabels.Name) == job.Metadata.Name
                && double.IsFinite(s.Value) && s.Value >= 0);
        double? Value(string name) => Samples(name).Select(s => (double?)s.Value).FirstOrDefault();

        var step = Value(TrainerMetricNames.GlobalStep);
        var epoch = Value(TrainerMetricNames.Epoch);
        var inEpoch = Value(TrainerMetricNames.StepInEpoch);
        var checkpointStep = Value(TrainerMetricNames.CheckpointGlobalStep);
        var checkpointEpoch = Value(TrainerMetricNames.CheckpointEpoch);
        var checkpointInEpoch = Value(TrainerMetricNames.CheckpointStepInEpoch);
        var checkpoint = checkpointStep is null || checkpointEpoch is null || checkpointInEpoch is null
            ? null
            : new TrainingPosition((long)checkpointStep, (int)checkpointEpoch, (long)checkpointInEpoch);
        // Where the attempt resumed (0/0/0: from the beginning); exported once the trainer has restored, before its first step.
        var resumedStep = Value(TrainerMetricNames.ResumedFromGlobalStep);
        var resumedEpoch = Value(TrainerMetricNames.ResumedFromEpoch);
        var resumedInEpoch = Value(TrainerMetricNames.ResumedFromStepInEpoch);
        var resumed = resumedStep is null || resumedEpoch is null || resumedInEpoch is null
            ? null
            : new TrainingPosition((long)resumedStep, (int)resumedEpoch, (long)resumedInEpoch);
        // The stage gauge: one sample, the stage's name as its label (a trainer without stages exports none).
        var stage = Samples(TrainerMetricNames.StageIndex).FirstOrDefault() is { } s
            ? new TrainerStage((int)s.Value, s.Labels.GetValueOrDefault(TrainerMetricNames.StageLabel))
            : null;
        var position = step is null || epoch is null || inEpoch is null
            ? checkpoint ?? resumed
            : new TrainingPosition((long)step, (int)epoch, (long)inEpoch);
        return position is null ? null : new TrainerReport(pod, position, checkpoint, resumed, Best(Samples), stage);
    }

    /// <summary>
    /// The durable best from the best gauges: step, epoch and value, with the metric and weights from the value's labels;
    /// null when any is missing (a trainer without a best, or one that does not export it).
    /// </summary>
    private static BestCheckpoint? Best(Func<string, IEnumerable<PrometheusSample>> samples)
    {
        var step = samples(TrainerMetricNames.BestGlobalStep).FirstOrDefault();
        var epoch = samples(TrainerMetricNames.BestEpoch).FirstOrDefault();
        var value = samples(TrainerMetricNames.BestValue).FirstOrDefault();
        if (step is null || epoch is null || value is null
            || value.Labels.GetValueOrDefault(TrainerMetricNames.BestMetricLabel) is not { Length: > 0 } metric
            || value.Labels.GetValueOrDefault(TrainerMetricNames.BestWeightsLabel) is not { Length: > 0 } weights)
        {
            return null;
        }

        return new BestCheckpoint((long)step.Value, (int)epoch.Value, metric, value.Value, weights);
    }

    private static string KeyOf(V1Pod pod) => pod.Metadata.Uid ?? $"{pod.Metadata.NamespaceProperty}/{pod.Metadata.Name}";

    /// <summary>Keeps the schedule small: entries that fell due long ago belong to pods long gone.</summary>
    private void ForgetEndedPods()
    {
        var stale = time.GetUtcNow() - (MaxBackoff * 2);
        foreach (var (key, entry) in _schedule)
        {
            if (entry.Due < stale)
            {
                _schedule.TryRemove(key, out _);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "No progress report from {Namespace}/{Pod} ({Url}): {Reason}; next try in {Seconds} s")]
    private static partial void LogUnreachable(ILogger logger, string @namespace, string pod, string url, string reason, double seconds);
}
