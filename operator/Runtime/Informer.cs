using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace K8sTraining.Operator.Runtime;

/// <summary>
/// A cache of one resource kind kept current by list-then-watch: watches resume from the last resourceVersion, take
/// bookmarks, relist on 410 Gone, and are bounded by a server timeout plus a client-side deadline, so a watch that
/// hangs silently is abandoned and restarted. Every <c>relistPeriod</c> (when given) the cache is listed afresh, so a
/// change whose watch event never arrived (a dropped event, a watch cut between two events) is seen within that
/// period rather than never. Items are decoded one by one: an object that cannot be decoded is kept aside as
/// <see cref="UndecodableObject"/> and every other object goes on.
/// </summary>
public sealed partial class Informer<T>(
    string description,
    ListWatch source,
    Func<JsonElement, T> decode,
    int watchTimeoutSeconds,
    ILogger logger,
    TimeProvider? time = null,
    TimeSpan relistPeriod = default)
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly ConcurrentDictionary<string, T> _store = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, UndecodableObject> _undecodable = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private volatile ListFailure? _listFailure;
    private DateTimeOffset _listedAt;
    private int _activeWatches;

    /// <summary>Called with (old, new) on add and update, (old, null) on delete, for every change the cache sees.</summary>
    public event Action<T?, T?>? Changed;

    /// <summary>Called with the key and the new undecodable version, or null once the object decodes again or is gone.</summary>
    public event Action<string, UndecodableObject?>? UndecodableChanged;

    public string Description => description;

    public Task Synced => _synced.Task;

    /// <summary>How many watches ended and were restarted (server close, timeout, error), for tests and metrics.</summary>
    public int WatchRestarts { get; private set; }

    /// <summary>Watches open right now (0 or 1): more, or a count that grows with the watches made, would be a leak.</summary>
    public int ActiveWatches => Volatile.Read(ref _activeWatches);

    /// <summary>How many full lists were made after the first.</summary>
    public int Relists { get; private set; }

    public DateTimeOffset LastActivity { get; private set; } = DateTimeOffset.UtcNow;

    /// <summary>Why the last list failed, while listing keeps failing; null once a list succeeds.</summary>
    public ListFailure? ListProblem => _listFailure;

    public static string KeyOf(T item) => $"{item.Metadata.NamespaceProperty}/{item.Metadata.Name}";

    public T? Get(string key) => _store.TryGetValue(key, out var item) ? item : null;

    public IReadOnlyCollection<T> Items => (IReadOnlyCollection<T>)_store.Values;

    public UndecodableObject? GetUndecodable(string key) => _undecodable.TryGetValue(key, out var item) ? item : null;

    public IReadOnlyCollection<UndecodableObject> Undecodable => (IReadOnlyCollection<UndecodableObject>)_undecodable.Values;

    /// <summary>Puts a newer object we just wrote into the cache, only if the cache still holds the version we read.</summary>
    public void ReplaceIfUnchanged(T read, T written)
    {
        _store.TryUpdate(KeyOf(written), written, read);
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var failures = 0;
        var listed = false;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (listed)
                {
                    Relists++;
                }

                var resourceVersion = await ListAsync(cancellationToken).ConfigureAwait(false);
                listed = true;
                failures = 0;
                while (resourceVersion is not null && RelistDueIn() is not { Ticks: <= 0 })
                {
                    resourceVersion = await WatchOnceAsync(resourceVersion, cancellationToken).ConfigureAwait(false);
                }

                if (resourceVersion is not null)
                {
                    Log.PeriodicRelist(logger, description, relistPeriod.TotalSeconds);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                failures++;
                _listFailure = new ListFailure(_listFailure?.Since ?? _time.GetUtcNow(), e.Message);
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
        var list = await source.List(cancellationToken).ConfigureAwait(false);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var raw in list.Items)
        {
            seen.Add(Upsert(raw));
        }

        foreach (var key in _store.Keys.Where(k => !seen.Contains(k)).ToList())
        {
            if (_store.TryRemove(key, out var gone))
            {
                Changed?.Invoke(gone, null);
            }
        }

        foreach (var key in _undecodable.Keys.Where(k => !seen.Contains(k)).ToList())
        {
            if (_undecodable.TryRemove(key, out _))
            {
                UndecodableChanged?.Invoke(key, null);
            }
        }

        LastActivity = DateTimeOffset.UtcNow;
        _listedAt = _time.GetUtcNow();
        _listFailure = null;
        _synced.TrySetResult();
        Log.Listed(logger, description, list.Items.Count, _undecodable.Count, list.ResourceVersion);
        return list.ResourceVersion;
    }

    /// <summary>How long until the periodic relist is due; null without a period.</summary>
    private TimeSpan? RelistDueIn() =>
        relistPeriod > TimeSpan.Zero ? _listedAt + relistPeriod - _time.GetUtcNow() : null;

    /// <summary>One watch; returns the resourceVersion to continue from, or null to relist.</summary>
    private async Task<string?> WatchOnceAsync(string resourceVersion, CancellationToken cancellationToken)
    {
        // Randomised like client-go's reflector so that many watches do not all end together.
        var seconds = (int)(watchTimeoutSeconds * (1 + Random.Shared.NextDouble()));
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var hang = TimeSpan.FromSeconds(seconds + Math.Max(5, seconds / 10));
        var relistDue = RelistDueIn();
        // The watch also ends when the periodic relist is due: the caller relists then (not a hang).
        var relistFirst = relistDue is { } due && due < hang;
        deadline.CancelAfter(relistFirst ? TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerMillisecond, relistDue!.Value.Ticks)) : hang);
        Exception? error = null;
        var broken = false;
        Interlocked.Increment(ref _activeWatches);
        try
        {
            await foreach (var (type, raw) in source.Watch(resourceVersion, seconds, e => error ??= e, deadline.Token).ConfigureAwait(false))
            {
                LastActivity = DateTimeOffset.UtcNow;
                if (error is not null)
                {
                    break;
                }

                if (UndecodableObject.ResourceVersionOf(raw) is { } rv)
                {
                    resourceVersion = rv;
                }

                Apply(type, raw);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && relistFirst)
        {
            return resourceVersion;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Log.WatchDeadline(logger, description, seconds);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Gone)
        {
            error = new KubernetesException(new V1Status { Code = 410, Message = e.Message });
        }
        catch (HttpRequestException e) when (e.InnerException is EndOfStreamException)
        {
            // The client reads the first line before it returns the watch: a watch the server ended before any event
            // (its timeout or an early close, no bookmark yet) has none, and the client throws this. An ordinary end:
            // watch again from the same resourceVersion, not a broken watch and not a reason to relist.
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            Log.WatchBroken(logger, description, e.Message);
            broken = true;
        }
        finally
        {
            Interlocked.Decrement(ref _activeWatches);
        }

        if (broken)
        {
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

    private void Apply(WatchEventType type, JsonElement raw)
    {
        switch (type)
        {
            case WatchEventType.Added or WatchEventType.Modified:
                Upsert(raw);
                break;
            case WatchEventType.Deleted:
                var key = UndecodableObject.KeyOf(raw);
                if (_store.TryRemove(key, out var gone))
                {
                    Changed?.Invoke(gone, null);
                }

                if (_undecodable.TryRemove(key, out _))
                {
                    UndecodableChanged?.Invoke(key, null);
                }

                break;

            // A BOOKMARK carries only metadata.resourceVersion (taken above); nothing in the cache changes.
        }
    }

    /// <summary>Decodes one object into the cache, or keeps it aside when it cannot be decoded; returns its key.</summary>
    private string Upsert(JsonElement raw)
    {
        T item;
        try
        {
            item = decode(raw);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var bad = UndecodableObject.From(raw, e);
            // The operator must not act on an object it cannot read: it leaves the typed cache (quietly: it is not
            // deleted, so nothing of it is cleaned up) until it decodes again.
            _store.TryRemove(bad.Key, out _);
            _undecodable.TryGetValue(bad.Key, out var previous);
            _undecodable[bad.Key] = bad;
            if (previous?.ResourceVersion != bad.ResourceVersion || previous?.Problem != bad.Problem)
            {
                Log.Undecodable(logger, description, bad.Key, bad.Problem);
                UndecodableChanged?.Invoke(bad.Key, bad);
            }

            return bad.Key;
        }

        var key = KeyOf(item);
        if (_undecodable.TryRemove(key, out _))
        {
            UndecodableChanged?.Invoke(key, null);
        }

        _store.TryGetValue(key, out var old);
        _store[key] = item;
        if (old?.Metadata.ResourceVersion != item.Metadata.ResourceVersion)
        {
            Changed?.Invoke(old, item);
        }

        return key;
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "Listed {Description}: {Count} objects ({Undecodable} undecodable) at resourceVersion {ResourceVersion}")]
        public static partial void Listed(ILogger logger, string description, int count, int undecodable, string resourceVersion);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Listing {Description} failed; retrying in {Seconds}s")]
        public static partial void ListFailed(ILogger logger, string description, double seconds, Exception e);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot decode {Key} in {Description}: {Problem}; it is left alone until it is fixed")]
        public static partial void Undecodable(ILogger logger, string description, string key, string problem);

        [LoggerMessage(Level = LogLevel.Information, Message = "Watch of {Description} passed its client-side deadline ({Seconds}s); watching again")]
        public static partial void WatchDeadline(ILogger logger, string description, int seconds);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Watch of {Description} broke ({Reason}); watching again from the last resourceVersion")]
        public static partial void WatchBroken(ILogger logger, string description, string reason);

        [LoggerMessage(Level = LogLevel.Information, Message = "Watch of {Description} from resourceVersion {ResourceVersion} is too old (410 Gone); relisting")]
        public static partial void WatchGone(ILogger logger, string description, string resourceVersion);

        [LoggerMessage(Level = LogLevel.Information, Message = "Relisting {Description}, as every {Seconds}s, so no change a watch missed stays unseen")]
        public static partial void PeriodicRelist(ILogger logger, string description, double seconds);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Watch of {Description} returned an error ({Reason}); relisting")]
        public static partial void WatchError(ILogger logger, string description, string reason);
    }
}

/// <summary>An informer that cannot list: since when, and the last error.</summary>
public sealed record ListFailure(DateTimeOffset Since, string Message);
