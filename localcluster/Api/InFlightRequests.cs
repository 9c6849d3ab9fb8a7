using System.Collections.Concurrent;

namespace K8sTraining.LocalCluster.Api;

/// <summary>
/// The requests the API server is serving right now (watches included), for a test that finds a client waiting: is
/// its request still being served here, or did it never arrive?
/// </summary>
public sealed class InFlightRequests
{
    private readonly ConcurrentDictionary<long, InFlightRequest> _open = new();
    private long _next;

    /// <summary>Registers a request until the returned handle is disposed.</summary>
    public IDisposable Begin(string method, string pathAndQuery, string userAgent, DateTimeOffset at)
    {
        var id = Interlocked.Increment(ref _next);
        _open[id] = new InFlightRequest(method, pathAndQuery, userAgent, at);
        return new Handle(this, id);
    }

    /// <summary>The open requests, oldest first.</summary>
    public IReadOnlyList<InFlightRequest> Snapshot() => [.. _open.Values.OrderBy(r => r.Since)];

    private sealed class Handle(InFlightRequests owner, long id) : IDisposable
    {
        public void Dispose() => owner._open.TryRemove(id, out _);
    }
}

/// <summary>One request being served: since when, and from whom.</summary>
public sealed record InFlightRequest(string Method, string PathAndQuery, string UserAgent, DateTimeOffset Since);
