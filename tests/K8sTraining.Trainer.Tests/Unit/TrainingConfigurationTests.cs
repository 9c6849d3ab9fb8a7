using System.Text;
using K8sTraining.Training.Loop;
using K8sTraining.Training.Options;

namespace K8sTraining.Trainer.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class TrainingConfigurationTests
{
    private static readonly string[] Base = ["--model", "cnn", "--dataset", "synthetic"];

    [Theory]
    [InlineData("--model", "mlp")]
    [InlineData("--seed", "9")]
    [InlineData("--num-classes", "12")]
    [InlineData("--in-channels", "3")]
    [InlineData("--image-size", "32")]
    [InlineData("--stem", "small")]
    [InlineData("--cnn-channels", "32")]
    [InlineData("--random-crop-padding", "4")]
    [InlineData("--horizontal-flip", "true")]
    [InlineData("--normalize", "false")]
    [InlineData("--max-samples-per-class", "100")]
    [InlineData("--val-fraction", "0.2")]
    [InlineData("--class-weights", "auto")]
    [InlineData("--loss", "focal")]
    public void FirstDifference_Should_NameTheFlag_When_ASettingThatDecidesTheMathChanges(string flag, string value)
    {
        var saved = TrainingConfiguration.From(Parse());

        var requested = TrainingConfiguration.From(Parse(flag, value));

        Assert.Equal(flag, requested.FirstDifference(saved)?.Flag);
    }

    [Fact]
    public void FirstDifference_Should_NameFocalGamma_When_ItChangesUnderTheFocalLoss()
    {
        var saved = TrainingConfiguration.From(Parse("--loss", "focal"));

        var requested = TrainingConfiguration.From(Parse("--loss", "focal", "--focal-gamma", "1"));

        Assert.Equal("--focal-gamma", requested.FirstDifference(saved)?.Flag);
    }

    [Fact]
    public void FirstDifference_Should_NameTheLrFinderSettings_When_TheRuleOfAnAutoLearningRateChanges()
    {
        var saved = TrainingConfiguration.From(Parse("--lr", "auto"));

        var requested = TrainingConfiguration.From(Parse("--lr", "auto", "--lr-find-rule", "minimum"));

        Assert.Equal("--lr-find-steps, --lr-find-start, --lr-find-end, --lr-find-rule", requested.FirstDifference(saved)?.Flag);
        // The default rule records the sweep as checkpoints written before the rule existed did.
        Assert.Equal(FormattableString.Invariant($"{100},{1e-7},{10.0}"), saved.LrFind);
    }

    [Theory]
    [InlineData("loader workers", "--loader-workers", "7")]
    [InlineData("prefetch", "--prefetch-batches", "9")]
    [InlineData("focal gamma without the focal loss", "--focal-gamma", "1")]
    [InlineData("epochs", "--epochs", "9")]
    public void FirstDifference_Should_BeNull_When_ASettingThatDoesNotDecideTheMathChanges(string name, string flag, string value)
    {
        var saved = TrainingConfiguration.From(Parse());

        var requested = TrainingConfiguration.From(Parse(flag, value));

        Assert.True(requested.FirstDifference(saved) is null, name);
    }

    [Fact]
    public void FirstDifference_Should_BeNull_When_TheCheckpointPredatesTheNewFieldsAndTheDefaultsAreUsed()
    {
        // state.json as written before the fields for models, data sets and losses existed.
        var old = """
            {"formatVersion":1,"configuration":{"model":"cnn","dataset":"synthetic","samples":2048,"seed":42,"batchSize":64,"optimizer":"adamw","learningRate":0.001,"learningRateGamma":1},
             "epoch":1,"stepInEpoch":0,"globalStep":32,"epochLossSum":0,"epochSamples":0,"schedule":{"baseLearningRate":0.001,"gamma":1},
             "history":[{"epoch":0,"globalStep":32,"trainLoss":1.5,"testAccuracy":0.5,"learningRate":0.001}]}
            """;

        var saved = TrainingState.Parse(Encoding.UTF8.GetBytes(old));

        Assert.Null(TrainingConfiguration.From(Parse()).FirstDifference(saved.Configuration));
        Assert.Null(saved.History[0].ValidationAccuracy);
    }

    private static TrainerOptions Parse(params string[] args) =>
        OptionsParser.Parse([.. Base, "--samples", "2048", "--batch-size", "64", .. args], _ => null);
}
