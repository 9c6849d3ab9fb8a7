using System.Collections.Concurrent;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace K8sTraining.Operator.Runtime;

/// <summary>
/// A cache of one resource kind kept current by list-then-watch: watches resume from the last resourceVersion, take
/// bookmarks, relist on 410 Gone, and are bounded by a server timeout plus a client-side deadline, so a watch that
/// hangs silently is abandoned and restarted.
/// </summary>
public sealed partial class Informer<T, TList>(
    string description,
    Func<string? /*resourceVersion*/, bool /*watch*/, int? /*timeoutSeconds*/, CancellationToken, Task<HttpOperationResponse<TList>>> listOrWatch,
    int watchTimeoutSeconds,
    ILogger logger)
    where T : class, IKubernetesObject<V1ObjectMeta>
    where TList : class, IKubernetesObject<V1ListMeta>, IItems<T>
{
    private readonly ConcurrentDictionary<string, T> _store = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Called with (old, new) on add and update, (old, null) on delete, for every change the cache sees.</summary>
    public event Action<T?, T?>? Changed;

    public Task Synced => _synced.Task;

    /// <summary>How many watches ended and were restarted (server close, timeout, error), for tests and metrics.</summary>
    public int WatchRestarts { get; private set; }

    public int Relists { get; private set; }

    public DateTimeOffset LastActivity { get; private set; } = DateTimeOffset.UtcNow;

    public static string KeyOf(T item) => $"{item.Metadata.NamespaceProperty}/{item.Metadata.Name}";

    public T? Get(string key) => _store.TryGetValue(key, out var item) ? item : null;

    public IReadOnlyCollection<T> Items => (IReadOnlyCollection<T>)_store.Values;

    /// <summary>Puts a newer object we just wrote into the cache, only if the cache still holds the version we read.</summary>
    public void ReplaceIfUnchanged(T read, T written)
    {
        _store.TryUpdate(KeyOf(written), written, read);
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var resourceVersion = await ListAsync(cancellationToken).ConfigureAwait(false);
                failures = 0;
                while (resourceVersion is not null)
                {
                    resourceVersion = await WatchOnceAsync(resourceVersion, cancellationToken).ConfigureAwait(false);
                }

                Relists++;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                failures++;
                var delay = TimeSpan.FromMilliseconds(Math.Min(30_000, 200 * Math.Pow(2, Math.Min(failures, 10))));
                Log.ListFailed(logger, description, delay.TotalSeconds, e);
                try
                {
                    await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task<string> ListAsync(CancellationToken cancellationToken)
    {
        using var response = await listOrWatch(null, false, null, cancellationToken).ConfigureAwait(false);
        var list = response.Body;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in list.Items)
        {
            var key = KeyOf(item);
            seen.Add(key);
            _store.TryGetValue(key, out var old);
            _store[key] = item;
            if (old?.Metadata.ResourceVersion != item.Metadata.ResourceVersion)
            {
                Changed?.Invoke(old, item);
            }
        }

        foreach (var key in _store.Keys.Where(k => !seen.Contains(k)).ToList())
        {
            if (_store.TryRemove(key, out var gone))
            {
                Changed?.Invoke(gone, null);
            }
        }

        LastActivity = DateTimeOffset.UtcNow;
        _synced.TrySetResult();
        Log.Listed(logger, description, list.Items.Count, list.Metadata.ResourceVersion);
        return list.Metadata.ResourceVersion;
    }

    /// <summary>One watch; returns the resourceVersion to continue from, or null to relist.</summary>
    private async Task<string?> WatchOnceAsync(string resourceVersion, CancellationToken cancellationToken)
    {
        // Randomised like client-go's reflector so that many watches do not all end together.
        var seconds = (int)(watchTimeoutSeconds * (1 + Random.Shared.NextDouble()));
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(seconds + Math.Max(5, seconds / 10)));
        Exception? error = null;
        try
        {
            var response = listOrWatch(resourceVersion, true, seconds, deadline.Token);
#pragma warning disable CS0618 // The replacement (WatchList*Async) is untyped for custom resources; this one keeps T and our ERROR handling.
            await foreach (var (type, item) in response.WatchAsync<T, TList>(e => error ??= e, deadline.Token).ConfigureAwait(false))
#pragma warning restore CS0618
            {
                LastActivity = DateTimeOffset.UtcNow;
                if (item?.Metadata?.ResourceVersion is { } rv)
                {
                    resourceVersion = rv;
                }

                if (item is not null)
                {
                    Apply(type, item);
                }

                if (error is not null)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Log.WatchDeadline(logger, description, seconds);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Gone)
        {
            error = new KubernetesException(new V1Status { Code = 410, Message = e.Message });
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            Log.WatchBroken(logger, description, e.Message);
            WatchRestarts++;
            await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken).ConfigureAwait(false);
            return resourceVersion;
        }

        WatchRestarts++;
        if (error is KubernetesException { Status.Code: 410 })
        {
            Log.WatchGone(logger, description, resourceVersion);
            return null;
        }

        if (error is not null)
        {
            Log.WatchError(logger, description, error.Message);
            return null;
        }

        return resourceVersion;
    }

    private void Apply(WatchEventType type, T item)
    {
        var key = KeyOf(item);
        switch (type)
        {
            case WatchEventType.Added or WatchEventType.Modified:
                _store.TryGetValue(key, out var old);
                _store[key] = item;
                Changed?.Invoke(old, item);
                break;
            case WatchEventType.Deleted:
                if (_store.TryRemove(key, out var gone))
                {
                    Changed?.Invoke(gone, null);
                }

                break;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "Listed {Description}: {Count} objects at resourceVersion {ResourceVersion}")]
        public static partial void Listed(ILogger logger, string description, int count, string resourceVersion);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Listing {Description} failed; retrying in {Seconds}s")]
        public static partial void ListFailed(ILogger logger, string description, double seconds, Exception e);

        [LoggerMessage(Level = LogLevel.Information, Message = "Watch of {Description} passed its client-side deadline ({Seconds}s); watching again")]
        public static partial void WatchDeadline(ILogger logger, string description, int seconds);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Watch of {Description} broke ({Reason}); watching again from the last resourceVersion")]
        public static partial void WatchBroken(ILogger logger, string description, string reason);

        [LoggerMessage(Level = LogLevel.Information, Message = "Watch of {Description} from resourceVersion {ResourceVersion} is too old (410 Gone); relisting")]
        public static partial void WatchGone(ILogger logger, string description, string resourceVersion);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Watch of {Description} returned an error ({Reason}); relisting")]
        public static partial void WatchError(ILogger logger, string description, string reason);
    }
}
