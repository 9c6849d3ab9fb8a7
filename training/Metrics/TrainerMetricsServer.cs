using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace K8sTraining.Training.Metrics;

/// <summary>
/// Serves /metrics on --metrics-port (all interfaces) with OpenTelemetry's HttpListener Prometheus exporter. Registered
/// before the training worker, so it starts first and stops last: the final step, epoch and checkpoint are still
/// served while the trainer shuts down.
/// </summary>
public sealed partial class TrainerMetricsServer(int port, TrainerMetrics metrics, ILogger<TrainerMetricsServer> logger) : IHostedService, IDisposable
{
    /// <summary>Longest wait for a last scrape on shutdown; only scrapers faster than this are waited for.</summary>
    public static readonly TimeSpan FinalScrapeLimit = TimeSpan.FromSeconds(3);

    private MeterProvider? _provider;
    private Timer? _sampler;
    private long _lastCollections;
    private long _lastScrapeTicks;
    private double _scrapeIntervalSeconds = double.PositiveInfinity;

    // The last few gaps between scrapes: the shortest is the scraper's interval. One late or timed-out scrape on a
    // loaded machine must not make the trainer think the scraper is slow and skip the final scrape.
    private readonly Queue<double> _recentIntervals = new();

    public Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            _provider = Sdk.CreateMeterProviderBuilder()
                .AddMeter(TrainerMetrics.MeterName)
                .AddPrometheusHttpListener(o =>
                {
                    o.Port = port;
                    o.ScrapeEndpointPath = "/metrics";
                    // A cached response would hide the final step from the last scrape on shutdown.
                    o.ScrapeResponseCacheDurationMilliseconds = 0;
                    // Every interface ("+"): Prometheus scrapes the pod IP. The Host option only takes a host name.
                    o.ConfigureHttpListener = (_, listener) =>
                    {
                        listener.Prefixes.Clear();
                        listener.Prefixes.Add($"http://+:{port}/");
                    };
                })
                .Build();
        }
        catch (InvalidOperationException e)
        {
            // Metrics must never stop training: a taken port costs the dashboard, not the run.
            LogFailed(logger, port, e.InnerException?.Message ?? e.Message);
            return Task.CompletedTask;
        }

        _sampler = new Timer(_ => SampleScrapeInterval(), null, TimeSpan.Zero, TimeSpan.FromMilliseconds(100));
        LogServing(logger, port);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // Pull-based metrics lose the last values of a process that exits between scrapes. When a scraper comes
        // often (tests, short intervals), give it one more scrape so the final step and epoch are recorded.
        var interval = _scrapeIntervalSeconds;
        if (_provider is not null && interval * 1.5 <= FinalScrapeLimit.TotalSeconds)
        {
            var seen = metrics.Collections;
            // The interval is an estimate from collections (a scrape may collect more than once): leave room for a
            // whole period plus jitter, within the limit.
            var wait = Math.Min(FinalScrapeLimit.TotalSeconds, (interval * 2.5) + 0.5);
            var deadline = Stopwatch.GetTimestamp() + (long)(wait * Stopwatch.Frequency);
            while (metrics.Collections == seen && Stopwatch.GetTimestamp() < deadline && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(20, CancellationToken.None).ConfigureAwait(false);
            }

            // The collection ran; give the listener time to write the response before it closes (a loaded machine
            // can take a few hundred milliseconds, and a cut response loses the whole scrape).
            await Task.Delay(400, CancellationToken.None).ConfigureAwait(false);
        }

        Dispose();
    }

    public void Dispose()
    {
        _sampler?.Dispose();
        _sampler = null;
        _provider?.Dispose();
        _provider = null;
    }

    private void SampleScrapeInterval()
    {
        // Timer callbacks may overlap on a busy thread pool.
        lock (_recentIntervals)
        {
            SampleScrapeIntervalLocked();
        }
    }

    private void SampleScrapeIntervalLocked()
    {
        var collections = metrics.Collections;
        if (collections == _lastCollections)
        {
            return;
        }

        var now = Stopwatch.GetTimestamp();
        if (_lastScrapeTicks != 0)
        {
            _recentIntervals.Enqueue((double)(now - _lastScrapeTicks) / Stopwatch.Frequency / (collections - _lastCollections));
            if (_recentIntervals.Count > 8)
            {
                _recentIntervals.Dequeue();
            }

            _scrapeIntervalSeconds = _recentIntervals.Min();
        }

        _lastCollections = collections;
        _lastScrapeTicks = now;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving Prometheus metrics on port {Port} at /metrics")]
    private static partial void LogServing(ILogger logger, int port);

    // A warning, not an error: in a node partition two trainers of one job may share a node's port for a while.
    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not serve metrics on port {Port}: {Reason}; training goes on without them")]
    private static partial void LogFailed(ILogger logger, int port, string reason);
}
