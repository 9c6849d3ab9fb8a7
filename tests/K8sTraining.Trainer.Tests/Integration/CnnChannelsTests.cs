using K8sTraining.Contract;
using K8sTraining.Training.Hosting;
using K8sTraining.Trainer.Tests.Support;

namespace K8sTraining.Trainer.Tests.Integration;

/// <summary>The real trainer with <c>--cnn-channels</c>: the width is part of the checkpoint, and only the cnn has one.</summary>
[Collection(TrainerProcessCollection.Name)]
[Trait("Category", "Integration")]
public sealed class CnnChannelsTests
{
    private static readonly string[] SmallCnn = ["--model", ModelNames.Cnn, "--epochs", "1", "--samples", "64", "--cnn-channels", "4"];

    [Fact]
    public async Task Train_Should_ExitInvalidNamingTheWidth_When_ResumedUnderAnotherCnnWidth()
    {
        using var run = new TrainerRun();
        var (first, firstProcess) = await TrainerProcess.RunAsync(run.Args(SmallCnn));
        using (firstProcess)
        {
            Assert.True(first == TrainerExitCodes.Completed, $"exit {first}\n{firstProcess.Stdout}\n{firstProcess.Stderr}");
        }

        var (code, process) = await TrainerProcess.RunAsync(run.Args([.. SmallCnn, "--cnn-channels", "8"]));
        using (process)
        {
            Assert.True(code == TrainerExitCodes.InvalidConfiguration, $"exit {code}\n{process.Stdout}\n{process.Stderr}");
            Assert.Contains("--cnn-channels: '8' differs from '4'", process.Stdout + process.Stderr, StringComparison.Ordinal);
        }
        var report = run.ReadTerminationReport();
        Assert.Equal(TerminationStatuses.Invalid, report.Status);
        Assert.Contains("resume with --cnn-channels 4", report.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Train_Should_ExitInvalidNamingTheFix_When_TrainerCnnChannelsIsSetForTheMlp()
    {
        using var run = new TrainerRun();
        var (code, process) = await TrainerProcess.RunAsync(run.Args("--epochs", "1", "--samples", "64"), new Dictionary<string, string> { [TrainerEnvironment.CnnChannels] = "32" });
        using (process)
        {
            Assert.True(code == TrainerExitCodes.InvalidConfiguration, $"exit {code}\n{process.Stdout}\n{process.Stderr}");
        }
        var report = run.ReadTerminationReport();
        Assert.Equal((TerminationStatuses.Invalid, TerminationReasons.InvalidConfiguration), (report.Status, report.Reason));
        Assert.Contains("--cnn-channels 32: it applies to --model cnn only, not --model mlp", report.Message, StringComparison.Ordinal);
    }
}
