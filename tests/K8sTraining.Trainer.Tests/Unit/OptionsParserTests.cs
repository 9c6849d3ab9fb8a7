using K8sTraining.Trainer.Options;

namespace K8sTraining.Trainer.Tests.Unit;

public sealed class OptionsParserTests
{
    [Theory]
    [InlineData("--checkpoint-every-steps", "TRAINER_CHECKPOINT_EVERY_STEPS")]
    [InlineData("--batch-size", "TRAINER_BATCH_SIZE")]
    [InlineData("--lr", "TRAINER_LR")]
    public void EnvironmentName_Should_BeTrainerPrefixedUpperSnake_When_DerivedFromFlag(string flag, string expected) =>
        Assert.Equal(expected, OptionsParser.EnvironmentName(flag));

    [Fact]
    public void Parse_Should_TakeValuesFromEnvironment_When_FlagAbsent()
    {
        var env = new Dictionary<string, string> { ["TRAINER_EPOCHS"] = "4", ["TRAINER_MODEL"] = "cnn", ["TRAINER_CHECKPOINT_EVERY_STEPS"] = "50" };
        var options = OptionsParser.Parse([], env.GetValueOrDefault);
        Assert.Equal((4, "cnn", 50), (options.Epochs, options.Model, options.CheckpointEverySteps));
    }

    [Fact]
    public void Parse_Should_PreferCommandLine_When_BothGiven()
    {
        var env = new Dictionary<string, string> { ["TRAINER_EPOCHS"] = "4" };
        Assert.Equal(9, OptionsParser.Parse(["--epochs", "9"], env.GetValueOrDefault).Epochs);
        Assert.Equal(7, OptionsParser.Parse(["--epochs=7"], env.GetValueOrDefault).Epochs);
    }

    [Theory]
    [InlineData(new[] { "--samples", "0" }, "--samples: '0' is not allowed; allowed: an integer from 1")]
    [InlineData(new[] { "--lr", "-1" }, "--lr: '-1' is not allowed; allowed: a number greater than 0")]
    [InlineData(new[] { "--progress", "fancy" }, "--progress: 'fancy' is not allowed; allowed: auto, bar, log")]
    [InlineData(new[] { "--epochs" }, "--epochs: a value is required")]
    [InlineData(new[] { "stray" }, "unknown argument 'stray'")]
    public void Parse_Should_ThrowNamingFieldValueAndAllowed_When_Invalid(string[] args, string expected)
    {
        var e = Assert.Throws<OptionsException>(() => OptionsParser.Parse(args, _ => null));
        Assert.StartsWith(expected, e.Message, StringComparison.Ordinal);
    }
}
