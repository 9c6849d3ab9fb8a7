using K8sTraining.Contract;
using K8sTraining.Training.Loop;
using K8sTraining.Training.Options;
using static TorchSharp.torch;

namespace K8sTraining.Trainer.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class DefaultLossTests
{
    [Theory]
    // name, samples per class, expected weights
    [InlineData("balanced", new[] { 10, 10 }, new[] { 1f, 1f })]
    [InlineData("ten to one", new[] { 100, 10 }, new[] { 2f / 11, 20f / 11 })]
    [InlineData("three classes", new[] { 1, 2, 4 }, new[] { 12f / 7, 6f / 7, 3f / 7 })]
    [InlineData("an absent class gets zero, the mean is over those present", new[] { 30, 0, 10 }, new[] { 0.5f, 0f, 1.5f })]
    public void ClassWeights_Should_BeInverseFrequencyWithMeanOne_When_Auto(string name, int[] counts, float[] expected)
    {
        var weights = DefaultLoss.ClassWeights(DefaultLoss.AutoWeights, FakeDataset.WithCounts(counts), counts.Length)!;

        Assert.True(expected.Zip(weights).All(p => Math.Abs(p.First - p.Second) < 1e-6), $"{name}: {string.Join(", ", weights)}");
    }

    [Fact]
    public void ClassWeights_Should_BeNull_When_None()
    {
        Assert.Null(DefaultLoss.ClassWeights(DefaultLoss.NoWeights, FakeDataset.WithCounts(3, 4), 2));
    }

    [Fact]
    public void ClassWeights_Should_BeTheList_When_OneWeightPerClassIsGiven()
    {
        Assert.Equal(new[] { 0.5f, 2f, 1f }, DefaultLoss.ClassWeights("0.5,2,1", FakeDataset.WithCounts(1, 1, 1), 3));
    }

    [Theory]
    [InlineData("too few", "1,2")]
    [InlineData("too many", "1,2,3,4")]
    public void ClassWeights_Should_ThrowInvalidInputNamingTheFlag_When_TheListLengthDiffersFromTheClasses(string name, string setting)
    {
        var error = Assert.Throws<InvalidInputException>(() => DefaultLoss.ClassWeights(setting, FakeDataset.WithCounts(1, 1, 1), 3));

        Assert.True(error.Message.StartsWith("--class-weights", StringComparison.Ordinal) && error.Message.Contains("3 classes", StringComparison.Ordinal), $"{name}: {error.Message}");
    }

    [Theory]
    // name, gamma, class weights (null: none), expected loss computed by hand below
    [InlineData("gamma 2, no weights", 2.0, null)]
    [InlineData("gamma 2, weights", 2.0, new[] { 0.5f, 2f, 1f })]
    [InlineData("gamma 0.5, weights", 0.5, new[] { 1f, 3f, 0.25f })]
    public void FocalLoss_Should_MatchAHandComputation_When_Evaluated(string name, double gamma, float[]? weights)
    {
        float[][] logits = [[2f, 0.5f, -1f], [0.1f, 0.2f, 0.3f], [-1f, 3f, 0f]];
        long[] targets = [0, 2, 1];
        double numerator = 0, denominator = 0;
        for (var i = 0; i < logits.Length; i++)
        {
            var sum = logits[i].Sum(v => Math.Exp(v));
            var p = Math.Exp(logits[i][targets[i]]) / sum;
            var w = weights?[targets[i]] ?? 1.0;
            numerator += -w * Math.Pow(1 - p, gamma) * Math.Log(p);
            denominator += w;
        }
        var expected = numerator / denominator;
        using var weightTensor = weights is null ? null : tensor(weights);
        using var output = tensor(logits.SelectMany(r => r).ToArray(), [3, 3]);
        using var target = tensor(targets);

        using var loss = DefaultLoss.FocalLoss(gamma, weightTensor)(output, target);

        Assert.True(Math.Abs(expected - loss.item<float>()) < 1e-5, $"{name}: expected {expected}, got {loss.item<float>()}");
    }

    [Theory]
    [InlineData("no weights", null)]
    [InlineData("weights", new[] { 0.5f, 2f, 1f })]
    public void FocalLoss_Should_EqualCrossEntropy_When_GammaIsZero(string name, float[]? weights)
    {
        using var weightTensor = weights is null ? null : tensor(weights);
        using var output = tensor(new[] { 2f, 0.5f, -1f, 0.1f, 0.2f, 0.3f }, [2, 3]);
        using var target = tensor(new long[] { 1, 2 });

        using var focal = DefaultLoss.FocalLoss(0, weightTensor)(output, target);
        using var crossEntropy = nn.functional.cross_entropy(output, target, weight: weightTensor);

        Assert.True(Math.Abs(focal.item<float>() - crossEntropy.item<float>()) < 1e-6, name);
    }

    [Fact]
    public void Create_Should_BeWeightedCrossEntropy_When_AutoWeightsAndDefaultLoss()
    {
        var options = OptionsParser.Parse(["--class-weights", "auto"], _ => null);
        var data = FakeDataset.WithCounts(3, 1);
        using var output = tensor(new[] { 1f, 0f, 0f, 1f, 1f, 0f, 0f, 2f }, [4, 2]);
        using var target = tensor(new long[] { 0, 0, 0, 1 });
        using var weights = tensor(new[] { 0.5f, 1.5f });

        using var loss = DefaultLoss.Create(options, data, 2)(output, target);
        using var expected = nn.functional.cross_entropy(output, target, weight: weights);

        Assert.Equal(LossNames.CrossEntropy, options.Loss);
        Assert.Equal(expected.item<float>(), loss.item<float>(), 6);
    }
}
