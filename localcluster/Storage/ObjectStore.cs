using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace K8sTraining.LocalCluster.Storage;

/// <summary>
/// All objects as JSON, one global resourceVersion counter (like etcd's revision), and a bounded history of changes
/// that watches resume from. Every method is atomic; <see cref="Atomically{T}"/> makes read-modify-write sequences atomic.
/// </summary>
public sealed class ObjectStore(int historyCapacity)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, SortedDictionary<string, JsonObject>> _objects = [];
    private readonly Dictionary<string, (string StorageKey, string Key)> _uids = [];
    private readonly LinkedList<WatchEvent> _history = new();
    private readonly List<Subscription> _subscriptions = [];
    private long _resourceVersion = 1;
    private long _compactedThrough = 1;

    /// <summary>Raised (outside no lock guarantees) after every change, so controllers can wake up.</summary>
    public event Action? Changed;

    public long CurrentResourceVersion
    {
        get
        {
            lock (_gate)
            {
                return _resourceVersion;
            }
        }
    }

    /// <summary>Events with a resourceVersion at or below this are gone from the history.</summary>
    public long CompactedThrough
    {
        get
        {
            lock (_gate)
            {
                return _compactedThrough;
            }
        }
    }

    public T Atomically<T>(Func<T> action)
    {
        lock (_gate)
        {
            return action();
        }
    }

    public void Atomically(Action action)
    {
        lock (_gate)
        {
            action();
        }
    }

    public static string KeyOf(string? ns, string name) => string.IsNullOrEmpty(ns) ? name : ns + "/" + name;

    public JsonObject? Get(string storageKey, string? ns, string name)
    {
        lock (_gate)
        {
            return _objects.TryGetValue(storageKey, out var m) && m.TryGetValue(KeyOf(ns, name), out var o)
                ? (JsonObject)o.DeepClone()
                : null;
        }
    }

    public (List<JsonObject> Items, long ResourceVersion) List(string storageKey, string? ns)
    {
        lock (_gate)
        {
            var items = new List<JsonObject>();
            if (_objects.TryGetValue(storageKey, out var m))
            {
                foreach (var (key, o) in m)
                {
                    if (string.IsNullOrEmpty(ns) || key.StartsWith(ns + "/", StringComparison.Ordinal))
                    {
                        items.Add((JsonObject)o.DeepClone());
                    }
                }
            }

            return (items, _resourceVersion);
        }
    }

    /// <summary>Every stored object (clones) with its storage key, for controllers.</summary>
    public List<(string StorageKey, JsonObject Object)> All()
    {
        lock (_gate)
        {
            return _objects.SelectMany(kv => kv.Value.Values.Select(o => (kv.Key, (JsonObject)o.DeepClone()))).ToList();
        }
    }

    public bool UidExists(string uid)
    {
        lock (_gate)
        {
            return _uids.ContainsKey(uid);
        }
    }

    public (string StorageKey, JsonObject Object)? FindByUid(string uid)
    {
        lock (_gate)
        {
            if (_uids.TryGetValue(uid, out var at) && _objects.TryGetValue(at.StorageKey, out var m) && m.TryGetValue(at.Key, out var o))
            {
                return (at.StorageKey, (JsonObject)o.DeepClone());
            }

            return null;
        }
    }

    /// <summary>Stores the object under a fresh resourceVersion (written into it) and returns a copy.</summary>
    public JsonObject Put(string storageKey, JsonObject obj)
    {
        JsonObject result;
        lock (_gate)
        {
            var meta = obj["metadata"]!.AsObject();
            var key = KeyOf((string?)meta["namespace"], (string)meta["name"]!);
            if (!_objects.TryGetValue(storageKey, out var m))
            {
                m = new SortedDictionary<string, JsonObject>(StringComparer.Ordinal);
                _objects[storageKey] = m;
            }

            m.TryGetValue(key, out var previous);
            var rv = ++_resourceVersion;
            meta["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture);
            // Re-parsed so every number is JSON-backed and reads back as int, long or double alike.
            var stored = JsonNode.Parse(obj.ToJsonString())!.AsObject();
            m[key] = stored;
            if ((string?)meta["uid"] is { } uid)
            {
                _uids[uid] = (storageKey, key);
            }

            Record(new WatchEvent(rv, storageKey, previous is null ? "ADDED" : "MODIFIED", stored, previous));
            result = (JsonObject)stored.DeepClone();
        }

        Changed?.Invoke();
        return result;
    }

    /// <summary>Removes the object; the DELETED event carries its last state under a fresh resourceVersion.</summary>
    public JsonObject? Remove(string storageKey, string? ns, string name)
    {
        JsonObject? result = null;
        lock (_gate)
        {
            var key = KeyOf(ns, name);
            if (_objects.TryGetValue(storageKey, out var m) && m.Remove(key, out var previous))
            {
                var rv = ++_resourceVersion;
                var final = (JsonObject)previous.DeepClone();
                final["metadata"]!["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture);
                if ((string?)final["metadata"]!["uid"] is { } uid)
                {
                    _uids.Remove(uid);
                }

                Record(new WatchEvent(rv, storageKey, "DELETED", final, previous));
                result = (JsonObject)final.DeepClone();
            }
        }

        if (result is not null)
        {
            Changed?.Invoke();
        }

        return result;
    }

    /// <summary>
    /// Subscribes to changes of one storage key after <paramref name="fromResourceVersion"/>; null means "now".
    /// Throws <see cref="TooOldResourceVersionException"/> when the history no longer holds what follows it.
    /// </summary>
    public Subscription Subscribe(string storageKey, long? fromResourceVersion)
    {
        lock (_gate)
        {
            var sub = new Subscription(this, storageKey);
            if (fromResourceVersion is { } from)
            {
                if (from < _compactedThrough)
                {
                    throw new TooOldResourceVersionException(from, _compactedThrough);
                }

                foreach (var e in _history)
                {
                    if (e.ResourceVersion > from && e.StorageKey == storageKey)
                    {
                        sub.Channel.Writer.TryWrite(e);
                    }
                }
            }

            _subscriptions.Add(sub);
            return sub;
        }
    }

    private void Record(WatchEvent e)
    {
        _history.AddLast(e);
        while (_history.Count > historyCapacity)
        {
            _compactedThrough = _history.First!.Value.ResourceVersion;
            _history.RemoveFirst();
        }

        foreach (var s in _subscriptions)
        {
            if (s.StorageKey == e.StorageKey)
            {
                s.Channel.Writer.TryWrite(e);
            }
        }
    }

    private void Unsubscribe(Subscription s)
    {
        lock (_gate)
        {
            _subscriptions.Remove(s);
        }
    }

    /// <summary>A live feed of one storage key's changes.</summary>
    public sealed class Subscription(ObjectStore store, string storageKey) : IDisposable
    {
        public string StorageKey { get; } = storageKey;

        public Channel<WatchEvent> Channel { get; } = System.Threading.Channels.Channel.CreateUnbounded<WatchEvent>();

        public void Dispose()
        {
            store.Unsubscribe(this);
            Channel.Writer.TryComplete();
        }
    }
}

/// <summary>The watch asked for a resourceVersion older than the retained history.</summary>
public sealed class TooOldResourceVersionException(long requested, long oldest)
    : Exception($"too old resource version: {requested} ({oldest})")
{
    public long Requested { get; } = requested;

    public long Oldest { get; } = oldest;
}
