using K8sTraining.Training.Data;

namespace K8sTraining.Training.Stages;

/// <summary>
/// The training samples a stage with a <c>dataFraction</c> trains on: one fixed permutation of the training split's
/// indices, chosen by the seed alone, and its first ceil(fraction x N). So the subset is the same on every attempt, and a
/// later stage's larger fraction contains every sample of an earlier one's (0.75 contains 0.5).
/// </summary>
public static class StageSubset
{
    // Its own stream of the seed, apart from the epoch permutations and the split's shuffle.
    private const ulong Salt = 0x5354414745535542UL;

    /// <summary>How many of <paramref name="count"/> samples a stage with <paramref name="fraction"/> trains on (at least one).</summary>
    public static int Size(int count, double fraction) =>
        fraction >= 1 ? count : Math.Clamp((int)Math.Ceiling(fraction * count), 1, count);

    /// <summary>The indices (ascending, into a training split of <paramref name="count"/>) a stage trains on; null when it takes them all.</summary>
    public static int[]? Indices(long seed, int count, double fraction)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        if (fraction >= 1)
        {
            return null;
        }
        var order = new int[count];
        for (var i = 0; i < count; i++)
        {
            order[i] = i;
        }
        var rng = new SplitMix64(unchecked((ulong)seed * 0x9E3779B97F4A7C15UL) ^ Salt);
        for (var i = count - 1; i > 0; i--)
        {
            var j = rng.NextInt(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        var kept = order[..Size(count, fraction)];
        Array.Sort(kept);
        return kept;
    }
}
