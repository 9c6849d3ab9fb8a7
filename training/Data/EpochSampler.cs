namespace K8sTraining.Training.Data;

/// <summary>
/// The data order of one epoch: a permutation that is a pure function of (seed, epoch, dataset size), so a resumed run
/// recomputes it and skips ahead to any step without replaying the ones before.
/// </summary>
public sealed class EpochSampler
{
    private readonly int[] _order;

    public EpochSampler(long seed, int epoch, int count, int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        BatchSize = batchSize;
        _order = Permutation(seed, epoch, count);
    }

    public int BatchSize { get; }

    public int Count => _order.Length;

    /// <summary>Steps in the epoch; the last batch may be smaller.</summary>
    public int StepsPerEpoch => (_order.Length + BatchSize - 1) / BatchSize;

    /// <summary>The sample indices of step <paramref name="stepInEpoch"/> (0-based).</summary>
    public ReadOnlySpan<int> Batch(int stepInEpoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(stepInEpoch);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(stepInEpoch, StepsPerEpoch);
        var start = stepInEpoch * BatchSize;
        return _order.AsSpan(start, Math.Min(BatchSize, _order.Length - start));
    }

    /// <summary>
    /// The batch that starts at sample position <paramref name="sampleInEpoch"/> of the permutation: a resume after a
    /// batch-size change re-cuts the rest of the epoch from its sample position, so the epoch still sees every sample once.
    /// </summary>
    public ReadOnlySpan<int> BatchFrom(int sampleInEpoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sampleInEpoch);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(sampleInEpoch, _order.Length);
        return _order.AsSpan(sampleInEpoch, Math.Min(BatchSize, _order.Length - sampleInEpoch));
    }

    /// <summary>Fisher-Yates driven by SplitMix64 seeded from (seed, epoch).</summary>
    public static int[] Permutation(long seed, int epoch, int count)
    {
        var order = new int[count];
        for (var i = 0; i < count; i++)
        {
            order[i] = i;
        }
        var rng = new SplitMix64(unchecked(((ulong)seed * 0x9E3779B97F4A7C15UL) ^ ((ulong)epoch + 0xD1B54A32D192ED03UL)));
        for (var i = count - 1; i > 0; i--)
        {
            var j = rng.NextInt(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }
}
