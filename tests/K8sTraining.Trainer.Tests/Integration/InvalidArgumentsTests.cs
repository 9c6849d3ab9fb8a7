using K8sTraining.Contract;
using K8sTraining.Training.Hosting;
using K8sTraining.Trainer.Tests.Support;

namespace K8sTraining.Trainer.Tests.Integration;

[Collection(TrainerProcessCollection.Name)]
[Trait("Category", "Integration")]
public sealed class InvalidArgumentsTests
{
    [Theory]
    [InlineData("--model", "resnet", "allowed: mlp, cnn")]
    [InlineData("--dataset", "imagenet", "allowed: synthetic, fashion-mnist")]
    [InlineData("--optimizer", "adam", "allowed: sgd, adamw")]
    [InlineData("--batch-size", "0", "allowed: an integer from 1")]
    [InlineData("--epochs", "-1", "allowed: an integer from 1")]
    [InlineData("--lr", "fast", "allowed: a number greater than 0")]
    [InlineData("--keep-checkpoints", "0", "allowed: an integer from 1")]
    [InlineData("--checkpoint-uri", "http://bucket/x", "allowed: s3://bucket/prefix")]
    public async Task Train_Should_ExitInvalidNamingFieldValueAndAllowed_When_FlagValueIsBad(string flag, string value, string allowed)
    {
        using var run = new TrainerRun();
        var (code, process) = await TrainerProcess.RunAsync(run.Args(flag, value));
        using (process)
        {
            Assert.Equal(TrainerExitCodes.InvalidConfiguration, code);
            Assert.Contains($"{flag}: '{value}' is not allowed; {allowed}", process.Stderr, StringComparison.Ordinal);
        }
        AssertNothingWritten(run);
        Assert.Equal(TerminationStatuses.Invalid, run.ReadTerminationReport().Status);
    }

    [Fact]
    public async Task Train_Should_ExitInvalid_When_FlagIsUnknown()
    {
        using var run = new TrainerRun();
        var (code, process) = await TrainerProcess.RunAsync([.. run.Args(), "--learning-rate", "0.1"]);
        using (process)
        {
            Assert.Equal(TrainerExitCodes.InvalidConfiguration, code);
            Assert.Contains("unknown argument '--learning-rate'", process.Stderr, StringComparison.Ordinal);
        }
        AssertNothingWritten(run);
    }

    [Fact]
    public async Task Train_Should_ExitInvalidNamingTheFlag_When_EnvironmentValueIsBad()
    {
        using var run = new TrainerRun();
        var args = run.Args().ToList();
        var at = args.IndexOf("--batch-size");
        args.RemoveRange(at, 2);
        var (code, process) = await TrainerProcess.RunAsync(args, new Dictionary<string, string> { ["TRAINER_BATCH_SIZE"] = "lots" });
        using (process)
        {
            Assert.Equal(TrainerExitCodes.InvalidConfiguration, code);
            Assert.Contains("--batch-size: 'lots' is not allowed", process.Stderr, StringComparison.Ordinal);
        }
        AssertNothingWritten(run);
    }

    [Fact]
    public async Task Train_Should_SuggestTheFlagAndReportToTheLogGivenWithEquals_When_AFlagIsMistyped()
    {
        using var run = new TrainerRun();
        var args = run.Args().ToList();
        var at = args.IndexOf("--termination-log");
        args.RemoveRange(at, 2);
        var (code, process) = await TrainerProcess.RunAsync([.. args, $"--termination-log={run.TerminationLogPath}", "--epoch", "3"]);
        using (process)
        {
            Assert.True(code == TrainerExitCodes.InvalidConfiguration, $"exit {code}\n{process.Stdout}\n{process.Stderr}");
            Assert.Contains("unknown argument '--epoch' (did you mean --epochs?)", process.Stderr, StringComparison.Ordinal);
        }
        AssertNothingWritten(run);
        var report = run.ReadTerminationReport();
        Assert.Equal((TerminationStatuses.Invalid, TerminationReasons.InvalidConfiguration), (report.Status, report.Reason));
        Assert.Contains("did you mean --epochs?", report.Message, StringComparison.Ordinal);
    }

    private static void AssertNothingWritten(TrainerRun run)
    {
        Assert.False(Directory.Exists(run.CheckpointDirectory), "the checkpoint directory was created");
        Assert.False(File.Exists(run.Output), "the output was written");
    }
}
