using K8sTraining.Training.Data;

namespace K8sTraining.Trainer.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class EpochSamplerTests
{
    [Theory]
    [InlineData(1000, 32, 0)]
    [InlineData(1000, 32, 17)]
    [InlineData(1000, 32, 31)]
    [InlineData(7, 3, 2)]
    public void Batch_Should_MatchTheUninterruptedOrder_When_ANewSamplerSkipsAhead(int count, int batchSize, int skipTo)
    {
        var full = new EpochSampler(seed: 42, epoch: 3, count, batchSize);
        var seen = new List<int>();
        for (var step = 0; step < full.StepsPerEpoch; step++)
        {
            seen.AddRange(full.Batch(step).ToArray());
        }

        var resumed = new EpochSampler(seed: 42, epoch: 3, count, batchSize);
        var rest = new List<int>();
        for (var step = skipTo; step < resumed.StepsPerEpoch; step++)
        {
            rest.AddRange(resumed.Batch(step).ToArray());
        }

        Assert.Equal(seen.Skip(skipTo * batchSize), rest);
    }

    [Fact]
    public void Permutation_Should_CoverEverySampleOnce_When_Generated()
    {
        var order = EpochSampler.Permutation(seed: 1, epoch: 0, count: 5000);
        Assert.Equal(Enumerable.Range(0, 5000), order.Order());
        Assert.NotEqual(Enumerable.Range(0, 5000), order);
    }

    [Fact]
    public void Permutation_Should_DependOnlyOnSeedAndEpoch_When_Recomputed()
    {
        Assert.Equal(EpochSampler.Permutation(7, 2, 1000), EpochSampler.Permutation(7, 2, 1000));
        Assert.NotEqual(EpochSampler.Permutation(7, 2, 1000), EpochSampler.Permutation(7, 3, 1000));
        Assert.NotEqual(EpochSampler.Permutation(7, 2, 1000), EpochSampler.Permutation(8, 2, 1000));
    }

    [Fact]
    public void Batch_Should_BeShorter_When_LastBatchOfEpoch()
    {
        var sampler = new EpochSampler(1, 0, count: 10, batchSize: 4);
        Assert.Equal(3, sampler.StepsPerEpoch);
        Assert.Equal(2, sampler.Batch(2).Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => sampler.Batch(3).ToArray());
    }
}
