using K8sTraining.Contract;
using K8sTraining.Training.Models;
using K8sTraining.Training.Options;
using static TorchSharp.torch;

namespace K8sTraining.Trainer.Tests.Unit.Models;

/// <summary><c>--cnn-channels</c> from the command line (or TRAINER_CNN_CHANNELS) to the cnn's convolutions.</summary>
[Trait("Category", "Unit")]
public sealed class CnnChannelsTests
{
    [Theory]
    [InlineData("flag", new[] { "--cnn-channels", "32" }, "", 32)]
    [InlineData("variable", new string[0], "8", 8)]
    [InlineData("the narrowest", new[] { "--cnn-channels", "1" }, "", 1)]
    [InlineData("the widest", new[] { "--cnn-channels", "512" }, "", 512)]
    public void Create_Should_BuildTheCnnThatWide_When_CnnChannelsIsGiven(string name, string[] flags, string variable, int expected)
    {
        var options = OptionsParser.Parse(["--model", ModelNames.Cnn, "--dataset", DatasetNames.Synthetic, .. flags], v => v == TrainerEnvironment.CnnChannels && variable.Length > 0 ? variable : null);

        var shape = ModelCatalog.ShapeOf(options, new ShapedDataset([1, 8, 8], 10));
        using var created = ModelCatalog.Create(options.Model, shape, options.Stem, options.CnnChannels);

        Assert.True(options.CnnChannels == expected, name);
        Assert.Equal([expected, 1, 3, 3], created.state_dict()["conv1.weight"].shape);
        Assert.Equal([128, 2L * expected * 2 * 2], created.state_dict()["fc1.weight"].shape);
    }

    [Fact]
    public void Create_Should_BuildTheCnnOfBefore_When_CnnChannelsIsNotGiven()
    {
        var options = OptionsParser.Parse(["--model", ModelNames.Cnn, "--dataset", DatasetNames.Synthetic], _ => null);

        using var created = ModelCatalog.Create(options, new ShapedDataset([1, 28, 28], 10));

        Assert.Null(options.CnnChannels);
        Assert.Equal([Cnn.DefaultChannels, 1, 3, 3], created.state_dict()["conv1.weight"].shape);
        Assert.Equal([128, 32L * 7 * 7], created.state_dict()["fc1.weight"].shape);
    }

    [Theory]
    [InlineData("zero", "0")]
    [InlineData("above the maximum", "513")]
    [InlineData("not a number", "wide")]
    public void Parse_Should_ThrowNamingTheRange_When_CnnChannelsIsOutOfRange(string name, string value)
    {
        var e = Assert.Throws<OptionsException>(() => OptionsParser.Parse(["--model", ModelNames.Cnn, "--cnn-channels", value], _ => null));

        Assert.True(e.Message == $"--cnn-channels: '{value}' is not allowed; allowed: an integer from 1 to 512", $"{name}: {e.Message}");
    }

    [Theory]
    [InlineData(ModelNames.Mlp)]
    [InlineData(ModelNames.ResNet18)]
    public void Create_Should_ThrowInvalidInputNamingTheFix_When_CnnChannelsIsGivenForAnotherModel(string model)
    {
        var options = OptionsParser.Parse(["--model", model, "--dataset", DatasetNames.Synthetic, "--cnn-channels", "32"], _ => null);

        var e = Assert.Throws<InvalidInputException>(() => ModelCatalog.Create(options, new ShapedDataset([1, 28, 28], 10)));

        Assert.Equal($"--cnn-channels 32: it applies to --model cnn only, not --model {model}; leave --cnn-channels out, or give --model cnn.", e.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(513)]
    public void Create_Should_ThrowInvalidInput_When_ACallerGivesAWidthOutOfRange(int channels)
    {
        var e = Assert.Throws<InvalidInputException>(() => ModelCatalog.Create(ModelNames.Cnn, ModelShape.FashionMnist, cnnChannels: channels));

        Assert.StartsWith($"--cnn-channels {channels}: out of range; give an integer from 1 to 512", e.Message, StringComparison.Ordinal);
    }
}
