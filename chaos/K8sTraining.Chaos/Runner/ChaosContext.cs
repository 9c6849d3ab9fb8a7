using System.Collections.Concurrent;
using System.Globalization;

namespace K8sTraining.Chaos.Runner;

/// <summary>
/// What every scenario shares: the one seeded generator (every random choice comes from it, in order, so a seed replays
/// the same choices), the suite's deadline, the S3 secret and the sink of every text the suite produced (scanned for
/// the secret at the end).
/// </summary>
public sealed class ChaosContext
{
    private readonly ConcurrentQueue<(string Source, string Text)> produced = new();
    private readonly ConcurrentDictionary<int, byte[]> references = new();

    public ChaosContext(int seed, TimeSpan budget, ChaosProfile profile, Action<string> log)
    {
        Seed = seed;
        Random = new Random(seed);
        Budget = budget;
        Profile = profile;
        Log = log;
        Started = DateTime.UtcNow;
        // The secret is random per seed so a leak cannot hide behind a constant another value happens to contain.
        Secret = "chaos-secret-" + Convert.ToHexStringLower(BitConverter.GetBytes(Random.NextInt64()));
        WorkDirectory = Path.Combine(Path.GetTempPath(), "k8st-chaos", seed.ToString(CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(WorkDirectory);
    }

    public int Seed { get; }

    public Random Random { get; }

    public TimeSpan Budget { get; }

    public ChaosProfile Profile { get; }

    public Action<string> Log { get; }

    public DateTime Started { get; }

    public string Secret { get; }

    public string WorkDirectory { get; }

    public TimeSpan Elapsed => DateTime.UtcNow - Started;

    /// <summary>True for the seeded subset `make test` runs: every scenario keeps to a few cases there.</summary>
    public bool IsSubset => Profile.Name == ChaosProfile.Subset.Name;

    /// <summary>
    /// A scenario's own time slice: now plus <paramref name="share"/> (0..1) of the budget. The operator scenarios take
    /// theirs at their start, after the trainer scenarios have used theirs.
    /// </summary>
    public DateTime SliceDeadline(double share) => DateTime.UtcNow + Budget * share;

    /// <summary>The moment <paramref name="share"/> (0..1) of the budget has passed.</summary>
    public DateTime DeadlineAt(double share) => Started + Budget * share;

    public string NewDirectory(string name)
    {
        var dir = Path.Combine(WorkDirectory, name);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Keeps a log, termination message or metrics scrape for the secrets scan.</summary>
    public void Produced(string source, string? text)
    {
        if (!string.IsNullOrEmpty(text))
        {
            produced.Enqueue((source, text));
        }
    }

    public IReadOnlyCollection<(string Source, string Text)> AllProduced => produced;

    /// <summary>
    /// The final weights of an uninterrupted run of <paramref name="epochs"/> epochs, once one scenario has trained it:
    /// the math of every trainer scenario's run is the same (model, data, seed, batch), so one reference serves all.
    /// </summary>
    public byte[]? Reference(int epochs) => references.TryGetValue(epochs, out var weights) ? weights : null;

    public void KeepReference(int epochs, byte[] weights) => references.TryAdd(epochs, weights);

    public int Pick(int minInclusive, int maxExclusive) => Random.Next(minInclusive, maxExclusive);

    public T Pick<T>(IReadOnlyList<T> items) => items[Random.Next(items.Count)];

    public bool Chance(double p) => Random.NextDouble() < p;
}
