namespace K8sTraining.Training.Tasks;

/// <summary>
/// A small, fast generator for one sample's augmentation (SplitMix64), seeded by (seed, epoch, index): the same sample
/// of the same epoch always draws the same numbers, whatever thread fills it and however often the run was resumed.
/// </summary>
public struct SampleRandom
{
    private ulong _state;

    public SampleRandom(long seed, int epoch, int index)
    {
        _state = Mix(Mix(Mix((ulong)seed) ^ (ulong)(uint)epoch) ^ ((ulong)(uint)index << 1));
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Mix(_state);
    }

    /// <summary>A uniform double in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A uniform integer in [0, <paramref name="maxExclusive"/>).</summary>
    public int Next(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxExclusive);
        return (int)(NextUInt64() % (ulong)maxExclusive);
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
