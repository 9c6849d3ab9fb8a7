using Microsoft.Extensions.Logging;

namespace K8sTraining.Operator.Runtime;

/// <summary>
/// Warns when an API request (a watch excepted) has had no response for a threshold (default 10 s), and says when it is
/// answered at last: a request that hangs holds up its informer or its job's reconcile, and this is where it shows.
/// </summary>
public sealed partial class SlowRequestLog(ILogger logger, TimeProvider time, TimeSpan? threshold = null) : DelegatingHandler
{
    /// <summary>The default: a list or a write that has had no answer for this long is worth a warning.</summary>
    public static readonly TimeSpan DefaultThreshold = TimeSpan.FromSeconds(10);

    private TimeSpan Threshold { get; } = threshold ?? DefaultThreshold;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (WatchConnectionClose.IsWatch(request.RequestUri))
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        var started = time.GetTimestamp();
        var slow = 0;
        using var timer = time.CreateTimer(
            _ =>
            {
                Interlocked.Exchange(ref slow, 1);
                Log.NoResponse(logger, request.Method.Method, request.RequestUri?.PathAndQuery ?? "", Threshold.TotalSeconds);
            },
            null,
            Threshold,
            Timeout.InfiniteTimeSpan);
        try
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (Volatile.Read(ref slow) == 1)
            {
                Log.Answered(logger, request.Method.Method, request.RequestUri?.PathAndQuery ?? "", time.GetElapsedTime(started).TotalSeconds);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "API request {Method} {Path} has had no response for {Seconds}s")]
        public static partial void NoResponse(ILogger logger, string method, string path, double seconds);

        [LoggerMessage(Level = LogLevel.Warning, Message = "API request {Method} {Path} ended after {Seconds:0.0}s")]
        public static partial void Answered(ILogger logger, string method, string path, double seconds);
    }
}
