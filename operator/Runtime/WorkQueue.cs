using System.Threading.Channels;

namespace K8sTraining.Operator.Runtime;

/// <summary>
/// A de-duplicating queue of keys (namespace/name) as client-go's workqueue: a key is handed to one worker at a time;
/// adding it while it is being processed queues it again for after <see cref="Done"/>. Failed keys come back with
/// per-key exponential delay.
/// </summary>
public sealed class WorkQueue(TimeProvider time, TimeSpan baseDelay, TimeSpan maxDelay) : IDisposable
{
    private readonly Channel<string> _ready = Channel.CreateUnbounded<string>();
    private readonly HashSet<string> _dirty = new(StringComparer.Ordinal);
    private readonly HashSet<string> _processing = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _failures = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (DateTimeOffset At, ITimer Timer)> _delayed = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public int Length
    {
        get
        {
            lock (_lock)
            {
                return _dirty.Count;
            }
        }
    }

    public void Add(string key)
    {
        lock (_lock)
        {
            if (!_dirty.Add(key))
            {
                return;
            }

            if (!_processing.Contains(key))
            {
                _ready.Writer.TryWrite(key);
            }
        }
    }

    /// <summary>Adds the key after the delay; an earlier pending delay for the same key wins.</summary>
    public void AddAfter(string key, TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero)
        {
            Add(key);
            return;
        }

        var at = time.GetUtcNow() + delay;
        lock (_lock)
        {
            if (_delayed.TryGetValue(key, out var pending))
            {
                if (pending.At <= at)
                {
                    return;
                }

                pending.Timer.Dispose();
            }

            var timer = time.CreateTimer(_ => Fire(key), null, delay, Timeout.InfiniteTimeSpan);
            _delayed[key] = (at, timer);
        }
    }

    /// <summary>Adds the key again after base * 2^failures (capped): for reconciles that failed.</summary>
    public TimeSpan AddRateLimited(string key)
    {
        int failures;
        lock (_lock)
        {
            _failures.TryGetValue(key, out failures);
            _failures[key] = failures + 1;
        }

        var delay = TimeSpan.FromTicks((long)Math.Min(maxDelay.Ticks, baseDelay.Ticks * Math.Pow(2, Math.Min(failures, 30))));
        AddAfter(key, delay);
        return delay;
    }

    /// <summary>Clears the key's failure count (after a successful reconcile).</summary>
    public void Forget(string key)
    {
        lock (_lock)
        {
            _failures.Remove(key);
        }
    }

    public async ValueTask<string> GetAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var key = await _ready.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            lock (_lock)
            {
                if (_processing.Contains(key) || !_dirty.Remove(key))
                {
                    continue;
                }

                _processing.Add(key);
                return key;
            }
        }
    }

    public void Done(string key)
    {
        lock (_lock)
        {
            _processing.Remove(key);
            if (_dirty.Contains(key))
            {
                _ready.Writer.TryWrite(key);
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var (_, timer) in _delayed.Values)
            {
                timer.Dispose();
            }

            _delayed.Clear();
        }

        _ready.Writer.TryComplete();
    }

    private void Fire(string key)
    {
        lock (_lock)
        {
            if (_delayed.Remove(key, out var entry))
            {
                entry.Timer.Dispose();
            }
        }

        Add(key);
    }
}
