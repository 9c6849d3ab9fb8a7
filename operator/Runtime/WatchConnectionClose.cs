namespace K8sTraining.Operator.Runtime;

/// <summary>
/// Sends every watch with <c>Connection: close</c>, so the HTTP/1.1 connection a watch held is closed when the watch
/// ends instead of going back to the pool for a list or a write. A watch ends in many ways (the server's timeout, an
/// early close, the informer's deadline, an error mid-stream); a connection reused after one of them once carried a
/// status write whose response the client never read, and the job's reconcile waited on it for good.
/// </summary>
public sealed class WatchConnectionClose : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (IsWatch(request.RequestUri))
        {
            request.Headers.ConnectionClose = true;
        }

        return base.SendAsync(request, cancellationToken);
    }

    /// <summary>True for a watch request: <c>watch=true</c> (or 1) in the query.</summary>
    public static bool IsWatch(Uri? uri) =>
        uri?.Query.TrimStart('?').Split('&').Any(p => p is "watch=true" or "watch=1") == true;
}
