using K8sTraining.Contract;
using K8sTraining.Training.Options;

namespace K8sTraining.Trainer.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class OptionsParserTests
{
    [Theory]
    [InlineData("--checkpoint-every-steps", "TRAINER_CHECKPOINT_EVERY_STEPS")]
    [InlineData("--batch-size", "TRAINER_BATCH_SIZE")]
    [InlineData("--lr", "TRAINER_LR")]
    public void EnvironmentName_Should_BeTrainerPrefixedUpperSnake_When_DerivedFromFlag(string flag, string expected) =>
        Assert.Equal(expected, TrainerEnvironment.ForFlag(flag));

    [Fact]
    public void Parse_Should_TakeValuesFromEnvironment_When_FlagAbsent()
    {
        var env = new Dictionary<string, string> { ["TRAINER_EPOCHS"] = "4", ["TRAINER_MODEL"] = "cnn", ["TRAINER_CHECKPOINT_EVERY_STEPS"] = "50" };
        var options = OptionsParser.Parse([], env.GetValueOrDefault);
        Assert.Equal((4, "cnn", 50), (options.Epochs, options.Model, options.CheckpointEverySteps));
    }

    [Theory]
    [InlineData(new string[0], "background")]
    [InlineData(new[] { "--checkpoint-write", "sync" }, "sync")]
    public void Parse_Should_WritePeriodicCheckpointsInTheBackground_When_NotToldOtherwise(string[] args, string expected) =>
        Assert.Equal(expected, OptionsParser.Parse(args, _ => null).CheckpointWrite);

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
    [InlineData(new[] { "--checkpoint-write", "async" }, "--checkpoint-write: 'async' is not allowed; allowed: background, sync")]
    [InlineData(new[] { "--epochs" }, "--epochs: a value is required")]
    [InlineData(new[] { "stray" }, "unknown argument 'stray'")]
    public void Parse_Should_ThrowNamingFieldValueAndAllowed_When_Invalid(string[] args, string expected)
    {
        var e = Assert.Throws<OptionsException>(() => OptionsParser.Parse(args, _ => null));
        Assert.StartsWith(expected, e.Message, StringComparison.Ordinal);
    }

    // Flags whose value is free text (paths, names): no value of theirs is invalid on its own.
    private static readonly HashSet<string> FreeText = ["--freeze", "--checkpoint-dir", "--output", "--termination-log", "--log-csv", "--job-namespace", "--job-name", "--job-uid"];

    public static TheoryData<string> ValidatedFlags() => [.. OptionsParser.Flags.Select(f => f.Flag).Where(f => !FreeText.Contains(f))];

    [Theory]
    [MemberData(nameof(ValidatedFlags))]
    public void Parse_Should_NameTheEnvironmentVariableAndItsFlag_When_AnEnvironmentValueIsInvalid(string flag)
    {
        var variable = TrainerEnvironment.ForFlag(flag);
        var env = new Dictionary<string, string> { [variable] = "abc" };
        if (flag == "--data")
        {
            env["TRAINER_DATASET"] = "fashion-mnist";
        }

        var e = Assert.Throws<OptionsException>(() => OptionsParser.Parse([], env.GetValueOrDefault));

        Assert.StartsWith($"environment variable {variable}, read as {flag}: 'abc' is not allowed; allowed: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_Should_NameTheFlagOnly_When_TheBadValueCameFromTheCommandLine()
    {
        var env = new Dictionary<string, string> { ["TRAINER_EPOCHS"] = "3" };
        var e = Assert.Throws<OptionsException>(() => OptionsParser.Parse(["--epochs", "abc"], env.GetValueOrDefault));
        Assert.StartsWith("--epochs: 'abc' is not allowed", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("true", true)]
    [InlineData("false", false)]
    [InlineData(null, false)]
    public void Parse_Should_ReadJobIdentityAndAdopt_When_TheOperatorSetsThem(string? adopt, bool expected)
    {
        var env = new Dictionary<string, string> { ["TRAINER_JOB_UID"] = "uid-1", ["TRAINER_JOB_NAMESPACE"] = "ns", ["TRAINER_JOB_NAME"] = "job" };
        if (adopt is not null)
        {
            env["TRAINER_CHECKPOINT_ADOPT"] = adopt;
        }
        var options = OptionsParser.Parse([], env.GetValueOrDefault);
        Assert.Equal(("uid-1", "ns", "job", expected), (options.JobUid, options.JobNamespace, options.JobName, options.CheckpointAdopt));
    }

    [Theory]
    [InlineData(new[] { "--help" }, true)]
    [InlineData(new[] { "-h" }, true)]
    [InlineData(new[] { "--epochs", "2", "--help" }, true)]
    [InlineData(new[] { "--epochs", "2" }, false)]
    [InlineData(new string[0], false)]
    public void IsHelpRequest_Should_FindHelp_When_AskedAnywhereAfterTheCommand(string[] args, bool expected) =>
        Assert.Equal(expected, OptionsParser.IsHelpRequest(args));

    [Fact]
    [Trait("Category", "Unit")]
    public void Flags_Should_ReadEveryVariableTheOperatorSets_When_NamedByTheContract()
    {
        var read = OptionsParser.Flags.Select(f => TrainerEnvironment.ForFlag(f.Flag)).ToHashSet(StringComparer.Ordinal);

        Assert.All(TrainerEnvironment.Flags, v => Assert.Contains(v, read));
    }

    public static TheoryData<string, string> ContractChoices()
    {
        var data = new TheoryData<string, string>();
        foreach (var model in ModelNames.All)
        {
            data.Add("--model", model);
        }
        foreach (var dataset in DatasetNames.All)
        {
            data.Add("--dataset", dataset);
        }
        foreach (var optimizer in OptimizerNames.All)
        {
            data.Add("--optimizer", optimizer);
        }
        return data;
    }

    [Theory]
    [Trait("Category", "Unit")]
    [MemberData(nameof(ContractChoices))]
    public void Parse_Should_AcceptEveryValueTheContractAllows_When_GivenAsFlag(string flag, string value)
    {
        // csv-images reads a file, the others a directory.
        var csv = Path.Combine(Path.GetTempPath(), $"contract-choices-{Environment.ProcessId}.csv");
        File.WriteAllText(csv, "emotion,pixels,Usage\n");
        var data = value == DatasetNames.CsvImages ? csv : Path.GetTempPath();
        var options = OptionsParser.Parse([flag, value, "--data", data], _ => null);
        File.Delete(csv);

        Assert.Equal(value, flag switch { "--model" => options.Model, "--dataset" => options.Dataset, _ => options.Optimizer });
    }

    [Theory]
    [Trait("Category", "Unit")]
    [InlineData("--model", "resnet")]
    [InlineData("--dataset", "imagenet")]
    [InlineData("--optimizer", "lbfgs")]
    public void Parse_Should_ListTheContractValues_When_AValueIsNotAllowed(string flag, string value)
    {
        var allowed = flag switch { "--model" => ModelNames.All, "--dataset" => DatasetNames.All, _ => OptimizerNames.All };

        var e = Assert.Throws<OptionsException>(() => OptionsParser.Parse([flag, value], _ => null));

        Assert.Equal($"{flag}: '{value}' is not allowed; allowed: {string.Join(", ", allowed)}", e.Message);
    }

    [Theory]
    [InlineData("--epoch", "--epochs")]
    [InlineData("--batchsize", "--batch-size")]
    [InlineData("--checkpoint-every", "--checkpoint-every-steps")]
    public void Parse_Should_SuggestTheNearestFlag_When_AFlagIsMistyped(string typed, string meant)
    {
        var e = Assert.Throws<OptionsException>(() => OptionsParser.Parse([typed, "3"], _ => null));

        Assert.StartsWith($"unknown argument '{typed}' (did you mean {meant}?); allowed: --model", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_Should_NameTheFlagWithoutItsValue_When_AnUnknownFlagIsGivenWithEquals()
    {
        var e = Assert.Throws<OptionsException>(() => OptionsParser.Parse(["--epoch=3"], _ => null));

        Assert.StartsWith("unknown argument '--epoch' (did you mean --epochs?)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_Should_SayTheValueIsMissing_When_AFlagIsFollowedByAnotherFlag()
    {
        var e = Assert.Throws<OptionsException>(() => OptionsParser.Parse(["--epochs", "--batch-size", "8"], _ => null));

        Assert.Equal("--epochs: a value is required (N)", e.Message);
    }

    [Fact]
    public void Parse_Should_TakeTheLastValue_When_AFlagIsRepeated()
    {
        Assert.Equal(5, OptionsParser.Parse(["--epochs", "2", "--epochs=5"], _ => null).Epochs);
    }

    [Theory]
    [InlineData(new[] { "--termination-log", "/tmp/a", "--epochs", "x" }, "/tmp/a")]
    [InlineData(new[] { "--epochs", "x", "--termination-log=/tmp/b" }, "/tmp/b")]
    [InlineData(new[] { "--bogus", "--termination-log=/tmp/c" }, "/tmp/c")]
    [InlineData(new[] { "--epochs", "x" }, null)]
    public void TerminationLogFlag_Should_FindTheReportPath_When_TheRestOfTheCommandLineIsInvalid(string[] args, string? expected) =>
        Assert.Equal(expected, OptionsParser.TerminationLogFlag(args));
}
