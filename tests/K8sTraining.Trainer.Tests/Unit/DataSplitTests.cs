using K8sTraining.Training.Loop;
using K8sTraining.Training.Options;

namespace K8sTraining.Trainer.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class DataSplitTests
{
    [Fact]
    public void Choose_Should_ReturnNull_When_FullModeWithoutValidationFraction()
    {
        Assert.Null(DataSplit.Choose(FakeDataset.WithCounts(10, 10), seed: 1, maxSamplesPerClass: 0, validationFraction: 0));
    }

    [Theory]
    // name, counts per class, max per class, fraction, expected train per class, expected validation per class
    [InlineData("limited only", new[] { 50, 20, 5 }, 10, 0.0, new[] { 10, 10, 5 }, null)]
    [InlineData("fraction only", new[] { 50, 20, 5 }, 0, 0.2, new[] { 40, 16, 4 }, new[] { 10, 4, 1 })]
    [InlineData("limited then fraction", new[] { 50, 20, 5 }, 10, 0.2, new[] { 8, 8, 4 }, new[] { 2, 2, 1 })]
    [InlineData("a class of one stays in training", new[] { 10, 1 }, 0, 0.5, new[] { 5, 1 }, new[] { 5, 0 })]
    [InlineData("rounding half away from zero", new[] { 5, 15 }, 0, 0.1, new[] { 4, 13 }, new[] { 1, 2 })]
    public void Choose_Should_StratifyPerClass_When_LimitedOrValidationFractionIsGiven(string name, int[] counts, int max, double fraction, int[] train, int[]? validation)
    {
        var data = FakeDataset.WithCounts(counts);

        var split = DataSplit.Choose(data, seed: 7, max, fraction)!;

        Assert.True(train.SequenceEqual(CountPerClass(data, split.Train, counts.Length)), $"{name}: train {string.Join(',', CountPerClass(data, split.Train, counts.Length))}");
        if (validation is null)
        {
            Assert.Null(split.Validation);
        }
        else
        {
            Assert.True(validation.SequenceEqual(CountPerClass(data, split.Validation!, counts.Length)), $"{name}: validation {string.Join(',', CountPerClass(data, split.Validation!, counts.Length))}");
            Assert.Empty(split.Train.Intersect(split.Validation!));
        }
        Assert.Equal(split.Train.Order(), split.Train);
    }

    [Fact]
    public void Choose_Should_GiveTheSameSplit_When_CalledAgainWithTheSameSeed()
    {
        var data = FakeDataset.WithCounts(100, 80, 60);

        var first = DataSplit.Choose(data, seed: 3, 30, 0.25);
        var again = DataSplit.Choose(data, seed: 3, 30, 0.25);
        var other = DataSplit.Choose(data, seed: 4, 30, 0.25);

        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
    }

    [Theory]
    [InlineData("train and validation", true)]
    [InlineData("train only", false)]
    public void Parse_Should_ReturnTheSameSplit_When_ReadingItsBytes(string name, bool withValidation)
    {
        var split = new DataSplit([0, 3, 9, 1_000_000], withValidation ? [2, 4] : null);

        var read = DataSplit.Parse(split.ToBytes());

        Assert.True(split == read, name);
    }

    [Fact]
    public void Parse_Should_Throw_When_TheFileIsTruncated()
    {
        var bytes = new DataSplit([1, 2, 3], [4]).ToBytes();

        Assert.Throws<InvalidDataException>(() => DataSplit.Parse(bytes.AsSpan(0, bytes.Length - 4)));
    }

    [Fact]
    public void EnsureFits_Should_ThrowInvalidInputNamingTheIndex_When_TheDataShrank()
    {
        var split = new DataSplit([0, 1], [7]);

        var error = Assert.Throws<InvalidInputException>(() => split.EnsureFits(FakeDataset.WithCounts(3, 2), "ckpt/split.bin"));

        Assert.Contains("index 7", error.Message, StringComparison.Ordinal);
        Assert.Contains("ckpt/split.bin", error.Message, StringComparison.Ordinal);
    }

    private static int[] CountPerClass(FakeDataset data, int[] indices, int classes) =>
        Enumerable.Range(0, classes).Select(c => indices.Count(i => data.LabelOf(i) == c)).ToArray();
}
