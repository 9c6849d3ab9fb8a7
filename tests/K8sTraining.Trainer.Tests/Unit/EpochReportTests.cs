using K8sTraining.Training.Loop;
using K8sTraining.Training.Progress;

namespace K8sTraining.Trainer.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class EpochReportTests
{
    [Theory]
    [InlineData("nothing beyond test accuracy", false, false, false, null, "")]
    [InlineData("validation accuracy", true, false, false, null, "validation accuracy 0.8125")]
    [InlineData("per-class by number, a class without samples", false, true, false, null, "per-class accuracy (test): 0 0.5000, 1 -")]
    [InlineData("per-class by name", false, true, false, "cat,dog", "per-class accuracy (test): cat 0.5000, dog -")]
    [InlineData("everything", true, true, true, null, "validation accuracy 0.8125; per-class accuracy (test): 0 0.5000, 1 -; test.top2 0.75")]
    public void Details_Should_ListWhatTheEpochMeasured_When_Reported(string name, bool validation, bool perClass, bool metrics, string? classNames, string expected)
    {
        var epoch = new EpochMetrics(
            1, 20, 0.5, 0.75, 0.001,
            validation ? 0.8125 : null,
            perClass ? [0.5, null] : null,
            perClass ? "test" : null,
            metrics ? new Dictionary<string, double> { ["test.top2"] = 0.75 } : null);

        Assert.True(expected == EpochReport.Details(epoch, classNames?.Split(',')), $"{name}: {EpochReport.Details(epoch, classNames?.Split(','))}");
    }
}
