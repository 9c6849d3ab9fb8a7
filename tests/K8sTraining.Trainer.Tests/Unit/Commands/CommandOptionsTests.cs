using K8sTraining.Training.Commands;
using K8sTraining.Training.Options;

namespace K8sTraining.Trainer.Tests.Unit.Commands;

[Trait("Category", "Unit")]
public sealed class CommandOptionsTests
{
    private static readonly PredictCommand Predict = new();

    private static (TrainerOptions Options, IReadOnlyDictionary<string, string> Own) Parse(ITrainerCommand command, params string[] args) =>
        OptionsParser.ParseCommand(command.Name, command.Flags, args, _ => null);

    [Fact]
    public void ParseCommand_Should_SplitOwnFlagsFromTrainFlags_When_BothAreGiven()
    {
        var (options, own) = Parse(Predict, "--input", "images", "--checkpoint", "latest", "--model", "cnn", "--checkpoint-dir", "ckpt", "--output", "p.csv");

        Assert.Equal("images", own["--input"]);
        Assert.Equal("latest", own["--checkpoint"]);
        Assert.False(own.ContainsKey("--model"));
        Assert.Equal("cnn", options.Model);
        Assert.Equal("ckpt", options.CheckpointDirectory);
        Assert.Equal("p.csv", options.Output);
    }

    [Fact]
    public void ParseCommand_Should_NameTheCommandsFlags_When_AFlagIsUnknown()
    {
        var e = Assert.Throws<OptionsException>(() => Parse(Predict, "--inptu", "x"));

        Assert.Contains("unknown argument '--inptu' (did you mean --input?)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseCommand_Should_ValidateTrainFlags_When_TheyAreGivenToACommand()
    {
        var e = Assert.Throws<OptionsException>(() => Parse(new LrFindCommand(), "--lr-find-steps", "2"));

        Assert.StartsWith("--lr-find-steps: '2' is not allowed", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseCommand_Should_RefuseAnOwnFlagOfAnotherCommand_When_ItIsGiven()
    {
        Assert.Throws<OptionsException>(() => Parse(new ExportCommand(), "--input", "x"));
    }

    [Fact]
    public void CommandUsage_Should_ListOwnFlagsThenTheSharedTrainFlags_When_HelpIsAsked()
    {
        var usage = TrainerCommands.Usage(Predict);

        Assert.StartsWith("usage: K8sTraining.Trainer predict ", usage, StringComparison.Ordinal);
        Assert.True(usage.IndexOf("--input", StringComparison.Ordinal) < usage.IndexOf("--model", StringComparison.Ordinal));
        Assert.Contains("one probability column per class", usage, StringComparison.Ordinal);
        Assert.DoesNotContain("final weights", usage, StringComparison.Ordinal);
    }

    public static TheoryData<string, string[], string?> Choices => new()
    {
        { "default: best from the directory", ["--checkpoint-dir", "d"], "d|best|" },
        { "latest, ema", ["--checkpoint-dir", "d", "--checkpoint", "latest", "--weights", "ema"], "d|latest|ema" },
        { "a step", ["--checkpoint-dir", "d", "--checkpoint", "step-120"], "d|step-120|" },
        { "the remote store wins over the directory", ["--checkpoint-dir", "d", "--checkpoint-uri", "s3://b/p"], "s3://b/p|best|" },
        { "no source", [], null },
        { "unknown selector", ["--checkpoint-dir", "d", "--checkpoint", "newest"], null },
        { "step without a number", ["--checkpoint-dir", "d", "--checkpoint", "step-"], null },
        { "negative step", ["--checkpoint-dir", "d", "--checkpoint", "step--1"], null },
        { "unknown weights", ["--checkpoint-dir", "d", "--weights", "average"], null },
    };

    [Theory]
    [MemberData(nameof(Choices))]
    public void CheckpointChoiceFrom_Should_ReadSourceSelectorAndWeights_When_Valid(string name, string[] args, string? expected)
    {
        if (expected is null)
        {
            Assert.Throws<OptionsException>(() => CheckpointChoice.From(Parse(new EvaluateCommand(), args).Options, Parse(new EvaluateCommand(), args).Own));
            return;
        }
        var (options, own) = Parse(new EvaluateCommand(), args);

        var choice = CheckpointChoice.From(options, own);

        Assert.True(expected == $"{choice.Source}|{choice.Selector}|{choice.Weights}", $"{name}: {choice}");
    }

    [Theory]
    [InlineData("explicit output dir", new[] { "--output-dir", "x", "--checkpoint-dir", "c" }, "x")]
    [InlineData("inside the checkpoint dir", new[] { "--checkpoint-dir", "c" }, "c/lr-finder")]
    [InlineData("current directory", new string[0], "./lr-finder")]
    public void LrFindOutputDirectory_Should_DefaultToTheCheckpointDirectorysFolder_When_NotGiven(string name, string[] args, string expected)
    {
        var (options, own) = Parse(new LrFindCommand(), args);

        Assert.True(expected == LrFindCommand.OutputDirectory(options, own), name);
    }
}
