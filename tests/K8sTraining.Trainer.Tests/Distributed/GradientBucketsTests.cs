using K8sTraining.Training.Distributed;

namespace K8sTraining.Trainer.Tests.Distributed;

[Trait("Category", "Unit")]
public sealed class GradientBucketsTests
{
    public static TheoryData<string, long[], long, (int, int, long)[]> Layouts() => new()
    {
        { "no parameters", [], 10, [] },
        { "all in one bucket", [3, 4, 2], 10, [(0, 3, 9)] },
        { "filled exactly", [5, 5, 5], 10, [(0, 2, 10), (2, 1, 5)] },
        { "a parameter larger than a bucket stands alone", [2, 30, 3], 10, [(0, 1, 2), (1, 1, 30), (2, 1, 3)] },
        { "a large first parameter", [30, 3, 3], 10, [(0, 1, 30), (1, 2, 6)] },
    };

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Layout_Should_GroupConsecutiveParametersWithinTheBucketSize_When_Cut(string name, long[] elements, long maxElements, (int, int, long)[] expected)
    {
        Assert.True(expected.SequenceEqual(GradientBuckets.Layout(elements, maxElements)), $"{name}: {string.Join(" ", GradientBuckets.Layout(elements, maxElements))}");
    }

    [Fact]
    public void BucketBytes_Should_BePyTorchsDefault_When_Documented()
    {
        Assert.Equal(25L * 1024 * 1024, GradientBuckets.BucketBytes);
    }
}
