using K8sTraining.Chaos.Scenarios;

namespace K8sTraining.Chaos.Tests;

[Trait("Category", "Unit")]
public sealed class SieveCrashPointsTests
{
    [Fact]
    public void CrashPoints_Should_CoverEveryK_When_AllRunsFit()
    {
        Assert.Equal(Enumerable.Range(1, 12), SieveScenario.CrashPoints(12, 12, sample: false, new Random(19)));
        Assert.Equal(Enumerable.Range(1, 12), SieveScenario.CrashPoints(12, 40, sample: false, new Random(19)));
    }

    [Theory]
    [InlineData(30, 10, 19)]
    [InlineData(31, 10, 20)]
    [InlineData(25, 4, 21)]
    [InlineData(9, 1, 22)]
    public void CrashPoints_Should_SpreadASeededStrideOverTheWholeStory_When_NotAllRunsFit(int writes, int fit, int seed)
    {
        var ks = SieveScenario.CrashPoints(writes, fit, sample: false, new Random(seed));
        var stride = (writes + fit - 1) / fit;

        Assert.InRange(ks.Count, 1, fit);
        Assert.InRange(ks[0], 1, stride);
        Assert.All(ks.Zip(ks.Skip(1)), p => Assert.Equal(stride, p.Second - p.First));
        Assert.True(ks[^1] > writes - stride, $"the last k {ks[^1]} leaves the end of the story ({writes} writes) uncovered");
        Assert.Equal(ks, SieveScenario.CrashPoints(writes, fit, sample: false, new Random(seed)));
    }

    [Fact]
    public void CrashPoints_Should_SampleDistinctKInOrderFromTheSeed_When_Subset()
    {
        var ks = SieveScenario.CrashPoints(30, 3, sample: true, new Random(19));

        Assert.Equal(3, ks.Count);
        Assert.Equal(ks.Order(), ks);
        Assert.Equal(3, ks.Distinct().Count());
        Assert.All(ks, k => Assert.InRange(k, 1, 30));
        Assert.Equal(ks, SieveScenario.CrashPoints(30, 3, sample: true, new Random(19)));
    }
}
