using System.Collections.Concurrent;
using k8s;
using k8s.Models;

namespace K8sTraining.Chaos.Cluster;

/// <summary>
/// Follows a namespace's pods through a watch (cheaper than polling when hundreds of jobs come and go) and keeps, per
/// owning TrainingJob: the pods live now (present and not Succeeded/Failed), the most that were live at once, and every
/// pod ever seen. A watch that ends is resumed from its last resourceVersion, or relisted when that is too old.
/// </summary>
public sealed class PodLedger : IDisposable
{
    private readonly IKubernetes _client;
    private readonly string _ns;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, HashSet<string>> _live = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _maxLive = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, V1Pod>> _seen = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private PodLedger(IKubernetes client, string ns)
    {
        _client = client;
        _ns = ns;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Starts following the namespace; returns once the first list is in.</summary>
    public static async Task<PodLedger> StartAsync(IKubernetes client, string ns, CancellationToken cancellationToken)
    {
        var ledger = new PodLedger(client, ns);
        await ledger._synced.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        return ledger;
    }

    /// <summary>The job that has had the most live pods at once, with that number (0 when none ever had a pod).</summary>
    public (string? Job, int Live) MostLiveAtOnce
    {
        get
        {
            lock (_lock)
            {
                return _maxLive.Count == 0 ? (null, 0) : _maxLive.MaxBy(p => p.Value) is var top ? (top.Key, top.Value) : (null, 0);
            }
        }
    }

    /// <summary>Every job whose live pods ever exceeded <paramref name="allowed"/> at once.</summary>
    public IReadOnlyList<(string Job, int Live)> Exceeding(int allowed)
    {
        lock (_lock)
        {
            return _maxLive.Where(p => p.Value > allowed).Select(p => (p.Key, p.Value)).ToList();
        }
    }

    /// <summary>The names of every pod of <paramref name="job"/> this ledger has seen.</summary>
    public IReadOnlyCollection<string> PodsOf(string job) =>
        _seen.TryGetValue(job, out var pods) ? pods.Keys.ToList() : [];

    /// <summary>The last seen version of a pod of <paramref name="job"/>, or null.</summary>
    public V1Pod? Pod(string job, string name) =>
        _seen.TryGetValue(job, out var pods) && pods.TryGetValue(name, out var pod) ? pod : null;

    public int LiveNow(string job)
    {
        lock (_lock)
        {
            return _live.TryGetValue(job, out var live) ? live.Count : 0;
        }
    }

    public int WatchRestarts { get; private set; }

    public void Dispose()
    {
        _stop.Cancel();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }

        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        string? resourceVersion = null;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                if (resourceVersion is null)
                {
                    var list = await _client.CoreV1.ListNamespacedPodAsync(_ns, cancellationToken: _stop.Token);
                    foreach (var pod in list.Items)
                    {
                        Apply(WatchEventType.Added, pod);
                    }

                    resourceVersion = list.Metadata.ResourceVersion;
                    _synced.TrySetResult();
                }

                var gone = false;
#pragma warning disable CS0618 // The typed WatchAsync is what the client offers for a namespaced pod watch.
                var watch = _client.CoreV1.ListNamespacedPodWithHttpMessagesAsync(_ns, allowWatchBookmarks: true, resourceVersion: resourceVersion, timeoutSeconds: 60, watch: true, cancellationToken: _stop.Token)
                    .WatchAsync<V1Pod, V1PodList>(e => gone |= e is KubernetesException { Status.Code: 410 }, _stop.Token);
#pragma warning restore CS0618
                await foreach (var (type, pod) in watch)
                {
                    resourceVersion = pod.Metadata?.ResourceVersion ?? resourceVersion;
                    if (type != WatchEventType.Bookmark)
                    {
                        Apply(type, pod);
                    }
                }

                WatchRestarts++;
                if (gone)
                {
                    // A relist sees what the expired watch missed; pods gone meanwhile leave the live sets below.
                    resourceVersion = null;
                    ForgetLive();
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpRequestException or IOException or k8s.Autorest.HttpOperationException or System.Text.Json.JsonException)
            {
                WatchRestarts++;
                try
                {
                    await Task.Delay(100, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private void ForgetLive()
    {
        lock (_lock)
        {
            foreach (var live in _live.Values)
            {
                live.Clear();
            }
        }
    }

    private void Apply(WatchEventType type, V1Pod pod)
    {
        var name = pod.Metadata.Name;
        var owner = pod.Metadata.OwnerReferences?.FirstOrDefault(o => o.Controller == true)?.Name ?? "(no owner)";
        _seen.GetOrAdd(owner, _ => new ConcurrentDictionary<string, V1Pod>(StringComparer.Ordinal))[name] = pod;
        lock (_lock)
        {
            if (!_live.TryGetValue(owner, out var live))
            {
                _live[owner] = live = new HashSet<string>(StringComparer.Ordinal);
            }

            var isLive = type != WatchEventType.Deleted && pod.Status?.Phase is not ("Succeeded" or "Failed");
            if (isLive)
            {
                live.Add(name);
            }
            else
            {
                live.Remove(name);
            }

            _maxLive[owner] = Math.Max(_maxLive.GetValueOrDefault(owner), live.Count);
        }
    }
}
