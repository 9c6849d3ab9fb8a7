using K8sTraining.Contract;
using K8sTraining.Training.Loop;

namespace K8sTraining.Trainer.Tests.Unit.Recipes;

[Trait("Category", "Unit")]
public sealed class BestTrackerTests
{
    private static readonly BestCheckpoint AccuracyBest = new(100, 1, BestMetricNames.ValidationAccuracy, 0.80, BestWeightsNames.Raw);
    private static readonly BestCheckpoint LossBest = new(100, 1, BestMetricNames.ValidationLoss, 0.50, BestWeightsNames.Raw);

    public static TheoryData<string, BestCheckpoint?, string, double?, long?> Cases => new()
    {
        // name, current best, metric, value, expected best step (null: none)
        { "first epoch is the best", null, BestMetricNames.ValidationAccuracy, 0.5, 200 },
        { "higher accuracy wins", AccuracyBest, BestMetricNames.ValidationAccuracy, 0.81, 200 },
        { "equal accuracy keeps the older", AccuracyBest, BestMetricNames.ValidationAccuracy, 0.80, 100 },
        { "lower accuracy keeps the older", AccuracyBest, BestMetricNames.ValidationAccuracy, 0.79, 100 },
        { "lower loss wins", LossBest, BestMetricNames.ValidationLoss, 0.49, 200 },
        { "higher loss keeps the older", LossBest, BestMetricNames.ValidationLoss, 0.51, 100 },
        { "no value keeps the older", AccuracyBest, BestMetricNames.ValidationAccuracy, null, 100 },
        { "NaN loss keeps the older", LossBest, BestMetricNames.ValidationLoss, double.NaN, 100 },
        { "no value and no best stays none", null, BestMetricNames.ValidationAccuracy, null, null },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Next_Should_KeepTheStrictlyBetter_When_AnEpochEnds(string name, BestCheckpoint? current, string metric, double? value, long? expectedStep)
    {
        var next = BestTracker.Next(current, metric, BestWeightsNames.Raw, value, 200, 2);

        Assert.True(expectedStep == next?.GlobalStep, $"{name}: best at {next?.GlobalStep}, expected {expectedStep}");
    }

    [Theory]
    [InlineData(null, true, BestMetricNames.ValidationAccuracy)]
    [InlineData(null, false, null)]
    [InlineData(BestMetricNames.None, true, null)]
    [InlineData(BestMetricNames.ValidationLoss, true, BestMetricNames.ValidationLoss)]
    public void Metric_Should_DefaultToValidationAccuracy_When_ThereIsAValidationSplit(string? requested, bool hasValidation, string? expected) =>
        Assert.Equal(expected, BestTracker.Metric(requested, hasValidation));

    [Fact]
    public void Value_Should_ReadTheEmaResult_When_EmaWeightsCompete()
    {
        var epoch = new EpochMetrics(0, 10, 1.0, null, 0.1, ValidationAccuracy: 0.7, ValidationLoss: 0.9, EmaValidationAccuracy: 0.75, EmaValidationLoss: 0.8);

        Assert.Equal((0.75, 0.8, 0.7, 0.9), (
            BestTracker.Value(BestMetricNames.ValidationAccuracy, BestWeightsNames.Ema, epoch)!.Value,
            BestTracker.Value(BestMetricNames.ValidationLoss, BestWeightsNames.Ema, epoch)!.Value,
            BestTracker.Value(BestMetricNames.ValidationAccuracy, BestWeightsNames.Raw, epoch)!.Value,
            BestTracker.Value(BestMetricNames.ValidationLoss, BestWeightsNames.Raw, epoch)!.Value));
    }
}
