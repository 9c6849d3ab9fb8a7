namespace K8sTraining.Training.Distributed;

/// <summary>
/// How the rest of an epoch is split across the ranks, like PyTorch's DistributedSampler but resumable at any sample:
/// from position <see cref="SampleInEpoch"/> of the epoch's global permutation, global step k takes the next
/// <c>PerRankBatch x World</c> positions (the last global batch takes what is left), and rank r takes the r-th
/// contiguous slice of them. Slices are cut evenly: a global batch of n samples gives each rank n / World, the first
/// n % World ranks one more, so the last global batch is shared as evenly as it goes (a rank may get none). No padding
/// and no dropping: the slices of all ranks are exactly the positions from <see cref="SampleInEpoch"/> to the end, each
/// once. A pure function of (count, position, batch, world, rank), so every rank, and every resume at any world size,
/// computes the same cut.
/// </summary>
/// <param name="Count">Samples the epoch permutes.</param>
/// <param name="SampleInEpoch">Positions of the permutation already trained (the checkpoint's global sample index).</param>
/// <param name="PerRankBatch">--batch-size: samples per rank per step.</param>
/// <param name="World">Ranks in the job.</param>
/// <param name="Rank">This rank.</param>
public sealed record EpochShard(int Count, int SampleInEpoch, int PerRankBatch, int World, int Rank)
{
    /// <summary>Samples one global step takes while the epoch lasts.</summary>
    public int GlobalBatch => checked(PerRankBatch * World);

    /// <summary>Global steps left in the epoch from <see cref="SampleInEpoch"/>.</summary>
    public int Steps => Count <= SampleInEpoch ? 0 : (Count - SampleInEpoch + GlobalBatch - 1) / GlobalBatch;

    /// <summary>The positions global step <paramref name="step"/> (0 = the first from <see cref="SampleInEpoch"/>) takes, over all ranks.</summary>
    public (int Start, int Count) Global(int step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(step, Steps);
        var start = SampleInEpoch + (step * GlobalBatch);
        return (start, Math.Min(GlobalBatch, Count - start));
    }

    /// <summary>The positions of global step <paramref name="step"/> that this rank trains (Count 0: none).</summary>
    public (int Start, int Count) Local(int step) => Slice(Global(step), World, Rank);

    /// <summary>Rank <paramref name="rank"/>'s contiguous share of <paramref name="batch"/> among <paramref name="world"/> ranks.</summary>
    public static (int Start, int Count) Slice((int Start, int Count) batch, int world, int rank)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(world);
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, world);
        var share = batch.Count / world;
        var extra = batch.Count % world;
        return (batch.Start + (rank * share) + Math.Min(rank, extra), share + (rank < extra ? 1 : 0));
    }

    /// <summary>
    /// The data set indices this rank trains in the rest of the epoch, step after step: every global batch's slice but
    /// the last is <see cref="PerRankBatch"/> long, so a loader cutting this order in batches of that size yields one
    /// batch per global step (none for a final slice that is empty).
    /// </summary>
    public int[] Order(ReadOnlySpan<int> permutation)
    {
        if (permutation.Length != Count)
        {
            throw new ArgumentException($"The permutation has {permutation.Length} positions; the epoch has {Count}.", nameof(permutation));
        }
        var order = new List<int>(Steps * PerRankBatch);
        for (var step = 0; step < Steps; step++)
        {
            var (start, count) = Local(step);
            foreach (var index in permutation.Slice(start, count))
            {
                order.Add(index);
            }
        }
        return [.. order];
    }
}
