using System.Collections.Concurrent;
using K8sTraining.LocalCluster.Resources;

namespace K8sTraining.LocalCluster.Api.Faults;

/// <summary>
/// The fault mode of the local control plane, settable while it runs: rules that pick clients by User-Agent prefix,
/// and the plane's own seeded generator that decides each fault (so a seed replays the same draws in the same
/// order), and a count of every fault injected. No rule, no draw: the plane behaves as without a fault mode. A watch
/// takes its faults when it opens, so changing the rules ends the open watches of every client the old or new rules
/// name (a clean end, as a server timeout): they watch again under the new rules from where they were.
/// </summary>
public sealed class ApiFaults
{
    private readonly Lock _gate = new();
    private readonly long[] _injected = new long[Enum.GetValues<ApiFaultKind>().Length];
    private readonly ConcurrentDictionary<OpenWatch, byte> _watches = new();
    private IReadOnlyList<ApiFaultRule> _rules = [];
    private Random _random = new(0);

    /// <summary>The rules in force, first match wins.</summary>
    public IReadOnlyList<ApiFaultRule> Rules => _rules;

    /// <summary>Replaces the rules and reseeds the generator; counts go on.</summary>
    public void Set(int seed, params ApiFaultRule[] rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var validated = rules.Select(r => r.Validated()).ToList();
        IReadOnlyList<ApiFaultRule> old;
        lock (_gate)
        {
            old = _rules;
            _random = new Random(seed);
            _rules = validated;
        }

        EndWatchesOf([.. old, .. validated]);
    }

    /// <summary>No faults from now on (watches already open keep theirs until they end).</summary>
    public void Clear()
    {
        IReadOnlyList<ApiFaultRule> old;
        lock (_gate)
        {
            old = _rules;
            _rules = [];
        }

        EndWatchesOf(old);
    }

    /// <summary>Registers a watch while it is open; its <see cref="OpenWatch.Ended"/> fires when the rules for its client change.</summary>
    public OpenWatch WatchOpened(string userAgent)
    {
        var watch = new OpenWatch(this, userAgent ?? "");
        _watches[watch] = 0;
        return watch;
    }

    private void EndWatchesOf(IReadOnlyList<ApiFaultRule> rules)
    {
        if (rules.Count == 0)
        {
            return;
        }

        foreach (var watch in _watches.Keys.Where(w => ApiFaultDecisions.RuleFor(rules, w.UserAgent) is not null))
        {
            watch.End();
        }
    }

    /// <summary>How many faults of this kind were injected since the plane started.</summary>
    public long Injected(ApiFaultKind kind) => Interlocked.Read(ref _injected[(int)kind]);

    /// <summary>Every fault injected since the plane started.</summary>
    public long TotalInjected => Enum.GetValues<ApiFaultKind>().Sum(Injected);

    /// <summary>The error to answer this request with, or null to serve it.</summary>
    public ApiException? ForRequest(string userAgent, string verb, ResourceType type, string? name)
    {
        var rule = ApiFaultDecisions.RuleFor(_rules, userAgent);
        if (rule is null || !ApiFaultDecisions.HasRequestFaults(rule))
        {
            return null;
        }

        if (ApiFaultDecisions.RequestFault(rule, verb, name is not null, Draw()) is not { } kind)
        {
            return null;
        }

        Count(kind);
        return ApiFaultDecisions.ErrorFor(kind, type, name, rule.RetryAfterSeconds);
    }

    /// <summary>What happens to a watch this client opens now, or null when nothing does.</summary>
    public WatchFaults? ForWatch(string userAgent, TimeSpan timeout)
    {
        var rule = ApiFaultDecisions.RuleFor(_rules, userAgent);
        if (rule is null || (rule.WatchDelay <= TimeSpan.Zero && rule.DropWatchEvents <= 0 && rule.CloseWatchesAfter is null))
        {
            return null;
        }

        var lifetime = rule.CloseWatchesAfter is null ? timeout : ApiFaultDecisions.WatchLifetime(rule, timeout, Draw());
        return new WatchFaults(this, rule.WatchDelay, rule.DropWatchEvents, lifetime, lifetime < timeout);
    }

    internal void Closed(OpenWatch watch) => _watches.TryRemove(watch, out _);

    internal bool DrawBelow(double rate) => rate > 0 && Draw() < rate;

    internal void Count(ApiFaultKind kind) => Interlocked.Increment(ref _injected[(int)kind]);

    private double Draw()
    {
        lock (_gate)
        {
            return _random.NextDouble();
        }
    }
}

/// <summary>One open watch of one client, ended when the rules for that client change.</summary>
public sealed class OpenWatch : IDisposable
{
    private readonly ApiFaults _faults;
    private readonly CancellationTokenSource _ended = new();

    internal OpenWatch(ApiFaults faults, string userAgent)
    {
        _faults = faults;
        UserAgent = userAgent;
        Ended = _ended.Token;
    }

    public string UserAgent { get; }

    /// <summary>Cancelled when the rules for this client changed: the watch should end so the client watches again.</summary>
    public CancellationToken Ended { get; }

    internal void End()
    {
        try
        {
            _ended.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // it closed meanwhile
        }
    }

    public void Dispose()
    {
        _faults.Closed(this);
        _ended.Dispose();
    }
}

/// <summary>The faults of one watch: its events' delay, the fraction dropped, and how long it stays open.</summary>
public sealed class WatchFaults(ApiFaults faults, TimeSpan delay, double dropRate, TimeSpan lifetime, bool closesEarly)
{
    public TimeSpan Delay => delay;

    /// <summary>How long the watch stays open (its timeout, or less when it is closed early).</summary>
    public TimeSpan Lifetime => lifetime;

    public bool ClosesEarly => closesEarly;

    /// <summary>Draws whether this event is left out (and counts it when it is).</summary>
    public bool DropEvent()
    {
        if (!faults.DrawBelow(dropRate))
        {
            return false;
        }

        faults.Count(ApiFaultKind.DroppedEvent);
        return true;
    }

    /// <summary>Counts one event held back by the delay.</summary>
    public void Delayed() => faults.Count(ApiFaultKind.DelayedEvent);

    /// <summary>Counts the early close, once the watch ended on it.</summary>
    public void ClosedEarly() => faults.Count(ApiFaultKind.EarlyClose);
}
