using K8sTraining.Training.Stages;

namespace K8sTraining.Trainer.Tests.Unit.Stages;

[Trait("Category", "Unit")]
public sealed class StageSubsetTests
{
    [Theory]
    [InlineData(1000, 0.5, 500)]
    [InlineData(1001, 0.5, 501)]
    [InlineData(10, 0.01, 1)]
    [InlineData(360, 0.75, 270)]
    [InlineData(360, 1.0, 360)]
    public void Size_Should_BeTheCeilingOfTheFraction_When_AskedForAnyCount(int count, double fraction, int expected) =>
        Assert.Equal(expected, StageSubset.Size(count, fraction));

    [Fact]
    public void Indices_Should_GrowMonotonically_When_TheFractionGrows()
    {
        var half = StageSubset.Indices(7, 1000, 0.5)!;
        var threeQuarters = StageSubset.Indices(7, 1000, 0.75)!;

        Assert.Equal(500, half.Length);
        Assert.Equal(750, threeQuarters.Length);
        Assert.Empty(half.Except(threeQuarters));
        Assert.Equal(half.Order(), half);
        Assert.Null(StageSubset.Indices(7, 1000, 1));
    }

    [Fact]
    public void Indices_Should_DependOnTheSeedAlone_When_CalledAgain()
    {
        Assert.Equal(StageSubset.Indices(7, 1000, 0.5), StageSubset.Indices(7, 1000, 0.5));
        Assert.NotEqual(StageSubset.Indices(7, 1000, 0.5), StageSubset.Indices(8, 1000, 0.5));
        // Not merely the first half: a subset drawn across the split.
        Assert.NotEqual(Enumerable.Range(0, 500), StageSubset.Indices(7, 1000, 0.5)!);
    }
}
