using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace K8sTraining.Training.Storage;

/// <summary>
/// How the store waits and retries: exponential back-off with jitter between upload attempts, and start-up calls
/// retried until CHECKPOINT_S3_STARTUP_TIMEOUT_SECONDS, after which the storage counts as unavailable.
/// </summary>
internal sealed partial class RemoteRetry(S3StoreOptions options, ILogger logger)
{
    private readonly ILogger logger = logger;

    /// <summary>
    /// Runs a start-up call, retrying transient failures; configuration errors (exit 2), damaged data and a
    /// supersession are thrown at once, and a store still unreachable at the deadline throws
    /// <see cref="RemoteStoreUnavailableException"/>.
    /// </summary>
    public async Task<T> AtStartupAsync<T>(string what, Func<CancellationToken, Task<T>> operation, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await operation(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is not RemoteStoreConfigurationException and not SupersededException)
            {
                var kind = RemoteFailure.Classify(e);
                if (RemoteFailure.ToConfigurationError(kind, options, e) is { } configurationError)
                {
                    throw configurationError;
                }
                if (kind is RemoteFailureKind.DamagedData or RemoteFailureKind.LocalDamaged)
                {
                    throw;
                }
                var remaining = options.StartupTimeout - Stopwatch.GetElapsedTime(started);
                if (remaining <= TimeSpan.Zero)
                {
                    throw new RemoteStoreUnavailableException(
                        $"S3 at {options.EndpointDisplay} ({options.Location}) stayed unreachable for {options.StartupTimeout.TotalSeconds:0.#} s while {what} ({attempt} attempts; last error: {e.Message}). Check AWS_ENDPOINT_URL, the network and the storage service; CHECKPOINT_S3_STARTUP_TIMEOUT_SECONDS sets how long to wait.",
                        e);
                }
                var delay = Backoff(attempt);
                delay = delay < remaining ? delay : remaining;
                LogStartupRetry(what, options.EndpointDisplay, attempt, e.Message, delay.TotalSeconds);
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Runs a start-up call that returns nothing, with the same retries.</summary>
    public Task DoAtStartupAsync(string what, Func<CancellationToken, Task> operation, CancellationToken cancellationToken) =>
        AtStartupAsync(what, async ct =>
        {
            await operation(ct).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    /// <summary>The wait before retry number <paramref name="attempt"/>: doubling from the initial delay up to the maximum.</summary>
    public TimeSpan Backoff(int attempt)
    {
        var factor = Math.Pow(2, Math.Min(attempt - 1, 20));
        var delay = TimeSpan.FromTicks((long)Math.Min(options.RetryInitialDelay.Ticks * factor, options.RetryMaxDelay.Ticks));
        // Up to 20% jitter so many pods behind one endpoint do not retry in step.
        return delay + TimeSpan.FromTicks((long)(delay.Ticks * 0.2 * Random.Shared.NextDouble()));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "S3 at {Endpoint} did not answer while {What} (attempt {Attempt}: {Reason}); retrying in {DelaySeconds:0.0} s")]
    private partial void LogStartupRetry(string what, string endpoint, int attempt, string reason, double delaySeconds);
}
