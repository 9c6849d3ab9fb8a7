using K8sTraining.Training.Data;
using K8sTraining.Training.Distributed;

namespace K8sTraining.Trainer.Tests.Distributed;

[Trait("Category", "Unit")]
public sealed class EpochShardTests
{
    [Theory]
    [InlineData("world 1, whole epoch", 100, 0, 8, 1)]
    [InlineData("world 2, even epoch", 64, 0, 8, 2)]
    [InlineData("world 2, uneven tail", 101, 0, 8, 2)]
    [InlineData("world 3, uneven tail", 100, 0, 8, 3)]
    [InlineData("world 3, tail smaller than the world", 49, 0, 8, 3)]
    [InlineData("world 2, tail of one sample", 33, 0, 16, 2)]
    [InlineData("world 2, resumed mid-batch", 101, 13, 8, 2)]
    [InlineData("world 3, resumed at the last sample", 100, 99, 8, 3)]
    [InlineData("world 3, resumed at the end", 100, 100, 8, 3)]
    [InlineData("world 4, batch 1", 10, 3, 1, 4)]
    public void Order_Should_CoverTheRestOfTheEpochExactlyOnceOverAllRanks_When_Sharded(string name, int count, int sampleInEpoch, int batch, int world)
    {
        var permutation = EpochSampler.Permutation(seed: 5, epoch: 1, count);
        var shards = Enumerable.Range(0, world).Select(r => new EpochShard(count, sampleInEpoch, batch, world, r)).ToList();

        var union = shards.SelectMany(s => s.Order(permutation)).Order().ToList();

        Assert.True(permutation.Skip(sampleInEpoch).Order().SequenceEqual(union), name);
    }

    [Theory]
    [InlineData("world 2, uneven tail", 101, 0, 8, 2)]
    [InlineData("world 3, tail smaller than the world", 49, 0, 8, 3)]
    [InlineData("world 3, resumed mid-batch", 100, 7, 8, 3)]
    public void Local_Should_CutEachGlobalBatchIntoContiguousEvenSlices_When_Stepped(string name, int count, int sampleInEpoch, int batch, int world)
    {
        var shards = Enumerable.Range(0, world).Select(r => new EpochShard(count, sampleInEpoch, batch, world, r)).ToList();
        Assert.All(shards, s => Assert.Equal(shards[0].Steps, s.Steps));
        for (var step = 0; step < shards[0].Steps; step++)
        {
            var global = shards[0].Global(step);
            var slices = shards.Select(s => s.Local(step)).ToList();
            Assert.Equal(global.Start, slices[0].Start);
            for (var r = 1; r < world; r++)
            {
                Assert.Equal(slices[r - 1].Start + slices[r - 1].Count, slices[r].Start);
            }
            Assert.Equal(global.Count, slices.Sum(s => s.Count));
            Assert.True(slices.Max(s => s.Count) - slices.Min(s => s.Count) <= 1, $"{name}: step {step} slices {string.Join(",", slices.Select(s => s.Count))}");
            Assert.All(slices, s => Assert.True(s.Count <= batch));
        }
    }

    [Theory]
    [InlineData("2 to 1 mid-epoch", 2, 1, 5)]
    [InlineData("1 to 2 mid-epoch", 1, 2, 7)]
    [InlineData("2 to 3 mid-epoch", 2, 3, 3)]
    [InlineData("3 to 2 at the start", 3, 2, 0)]
    public void Order_Should_FinishTheEpochWithoutRepeatsOrGaps_When_TheWorldChangesAtAGlobalSampleIndex(string name, int worldBefore, int worldAfter, int stepsBefore)
    {
        const int Count = 203;
        const int Batch = 8;
        var permutation = EpochSampler.Permutation(seed: 9, epoch: 0, Count);
        var before = Enumerable.Range(0, worldBefore).Select(r => new EpochShard(Count, 0, Batch, worldBefore, r)).ToList();
        var seen = new List<int>();
        var position = 0;
        for (var step = 0; step < stepsBefore; step++)
        {
            seen.AddRange(before.SelectMany(s => { var (start, n) = s.Local(step); return permutation.Skip(start).Take(n); }));
            position += before[0].Global(step).Count;
        }

        var after = Enumerable.Range(0, worldAfter).Select(r => new EpochShard(Count, position, Batch, worldAfter, r));
        seen.AddRange(after.SelectMany(s => s.Order(permutation)));

        Assert.True(Enumerable.Range(0, Count).SequenceEqual(seen.Order()), name);
    }

    [Fact]
    public void Order_Should_BeThePlainPermutationFromThePosition_When_TheWorldIsOne()
    {
        var permutation = EpochSampler.Permutation(seed: 3, epoch: 2, 50);

        Assert.Equal(permutation.Skip(11), new EpochShard(50, 11, 4, 1, 0).Order(permutation));
    }

    [Fact]
    public void Steps_Should_CountGlobalBatches_When_TheTailIsShort()
    {
        var shard = new EpochShard(Count: 33, SampleInEpoch: 0, PerRankBatch: 8, World: 2, Rank: 1);

        Assert.Equal(3, shard.Steps);
        Assert.Equal((32, 1), shard.Global(2));
        Assert.Equal((33, 0), shard.Local(2));
        Assert.Equal(16, shard.Order(EpochSampler.Permutation(1, 0, 33)).Length);
    }
}
