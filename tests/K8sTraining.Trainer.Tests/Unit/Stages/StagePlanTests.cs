using K8sTraining.Contract;
using K8sTraining.Training.Options;
using K8sTraining.Training.Stages;

namespace K8sTraining.Trainer.Tests.Unit.Stages;

[Trait("Category", "Unit")]
public sealed class StagePlanTests
{
    private static TrainerOptions Options(string? stages, params string[] more) =>
        OptionsParser.Parse([.. (stages is null ? Array.Empty<string>() : ["--stages", stages]), .. more], _ => null);

    [Fact]
    public void From_Should_BeOneImplicitStageWithTheOptionsAsTheyAre_When_ThereAreNoStages()
    {
        var options = Options(null, "--epochs", "4", "--mixup-alpha", "0.2", "--mix-off-last-epochs", "1");

        var plan = StagePlan.From(options);

        Assert.False(plan.IsStaged);
        var stage = Assert.Single(plan.Stages);
        Assert.Same(options, stage.Options);
        Assert.Equal((0, 4, 1.0, 3), (stage.FirstEpoch, stage.EndEpoch, stage.DataFraction, stage.MixUntilEpoch));
        Assert.Null(plan.Report(stage));
    }

    [Fact]
    public void From_Should_OverrideTheOptionsPerStage_When_StagesGiveFields()
    {
        var options = Options("""
            [{"name":"a","epochs":2,"imageSize":16,"batchSize":16,"lrScale":0.5},
             {"name":"b","epochs":1,"mixup":false,"freeze":["conv1"],"schedule":{"type":"cosine"}},
             {"name":"c","epochs":3,"learningRate":0.2}]
            """, "--lr", "0.1", "--batch-size", "64", "--mixup-alpha", "0.4", "--cutmix-alpha", "1");

        var plan = StagePlan.From(options);

        Assert.Equal([(0, 2), (2, 3), (3, 6)], plan.Stages.Select(s => (s.FirstEpoch, s.EndEpoch)));
        Assert.Equal([16, 64, 64], plan.Stages.Select(s => s.Options.BatchSize));
        Assert.Equal([0.05, 0.1, 0.2], plan.Stages.Select(s => s.LearningRateFor(0.1)));
        Assert.Equal([16, (int?)null, null], plan.Stages.Select(s => s.ImageSize));
        Assert.Equal([(0.4, 1.0), (0.0, 0.0), (0.4, 1.0)], plan.Stages.Select(s => (s.Options.MixupAlpha, s.Options.CutMixAlpha)));
        Assert.Equal([SchedulerNames.Step, SchedulerNames.Cosine, SchedulerNames.Step], plan.Stages.Select(s => s.Options.Scheduler));
        Assert.Equal(["", "conv1", ""], plan.Stages.Select(s => string.Join(',', s.Options.Freeze)));
        Assert.Equal([2, 1, 3], plan.Stages.Select(s => s.Options.Epochs));
        Assert.Equal(new StageReport("b", 1, 3), plan.Report(plan.Stages[1]));
    }

    [Theory]
    [InlineData(0, "a")]
    [InlineData(1, "a")]
    [InlineData(2, "b")]
    [InlineData(5, "c")]
    [InlineData(6, "c")]
    public void At_Should_FindTheStageOfAnEpoch_When_AskedForAnyEpochOfTheRun(int epoch, string expected)
    {
        var plan = StagePlan.From(Options("""[{"name":"a","epochs":2},{"name":"b","epochs":1},{"name":"c","epochs":3}]"""));
        Assert.Equal(expected, plan.At(epoch).Name);
    }

    [Theory]
    [InlineData("no mix-off: every stage mixes", "0", new[] { 2, 1, 3 })]
    [InlineData("the run's last epoch is off", "1", new[] { 2, 1, 2 })]
    [InlineData("the run's last four epochs are off", "4", new[] { 2, 0, 0 })]
    public void From_Should_CountMixOffLastEpochsAgainstTheRun_When_Staged(string name, string mixOff, int[] expected)
    {
        var plan = StagePlan.From(Options("""[{"name":"a","epochs":2},{"name":"b","epochs":1},{"name":"c","epochs":3}]""", "--mixup-alpha", "0.2", "--mix-off-last-epochs", mixOff));
        Assert.True(expected.SequenceEqual(plan.Stages.Select(s => s.MixUntilEpoch)), name);
    }

    [Fact]
    public void From_Should_TurnMixingOff_When_AStageSaysMixupFalse()
    {
        var plan = StagePlan.From(Options("""[{"name":"a","epochs":2},{"name":"b","epochs":2,"mixup":false}]""", "--mixup-alpha", "0.2"));
        Assert.Equal([2, 0], plan.Stages.Select(s => s.MixUntilEpoch));
    }
}
