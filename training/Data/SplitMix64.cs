namespace K8sTraining.Training.Data;

/// <summary>A tiny, fully specified PRNG: the same seed gives the same numbers on every runtime and machine.</summary>
public struct SplitMix64(ulong seed)
{
    private ulong _state = seed;

    public ulong Next()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, bound) without modulo bias.</summary>
    public int NextInt(int bound)
    {
        var limit = ulong.MaxValue - (ulong.MaxValue % (ulong)bound);
        ulong r;
        do
        {
            r = Next();
        }
        while (r >= limit);
        return (int)(r % (ulong)bound);
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Standard normal (Box-Muller).</summary>
    public double NextGaussian()
    {
        var u1 = 1.0 - NextDouble();
        var u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}
