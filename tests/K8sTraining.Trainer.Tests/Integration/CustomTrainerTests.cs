using System.Globalization;
using K8sTraining.Contract;
using K8sTraining.Training.Hosting;
using K8sTraining.Trainer.Tests.Support;
using Xunit.Abstractions;

namespace K8sTraining.Trainer.Tests.Integration;

/// <summary>
/// examples/custom-trainer: a user's own network and data on the training library keep every promise of the built-in
/// trainer. Preempted three times with SIGTERM, it ends with the same bytes as a run never interrupted.
/// </summary>
[Collection(TrainerProcessCollection.Name)]
[Trait("Category", "Integration")]
public sealed class CustomTrainerTests(ITestOutputHelper testOutput)
{
    private const int Epochs = 4;
    private const int BatchSize = 32;
    private const int StepsPerEpoch = (3000 + BatchSize - 1) / BatchSize;
    private const int TotalSteps = Epochs * StepsPerEpoch;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task CustomTrainer_Should_EndWithIdenticalBytes_When_SigtermedThreeTimesAndResumed()
    {
        using var uninterrupted = new TrainerRun();
        using var interrupted = new TrainerRun();
        var (referenceCode, reference) = await RunToEndAsync(uninterrupted);
        using (reference)
        {
            Assert.True(referenceCode == TrainerExitCodes.Completed, $"exit {referenceCode}\n{reference.Stdout}\n{reference.Stderr}");
            Assert.Contains("test accuracy", reference.Stdout, StringComparison.Ordinal);
        }

        var random = TestSeed.Create(testOutput);
        var slower = new Dictionary<string, string> { ["K8STRAINING_TEST_STEP_DELAY_MS"] = "10" };
        var targets = Enumerable.Range(0, 3).Select(_ => (long)random.Next(5, TotalSteps - 128)).Order().ToArray();
        long previousStop = 0;
        foreach (var target in targets)
        {
            using var trainer = TrainerProcess.StartProgram(TrainerProcess.CustomTrainerDll, ["train", .. Args(interrupted)], slower);
            await trainer.WaitForGlobalStepAsync(Math.Max(target, previousStop + 1), Deadline);
            trainer.SendSigterm();
            var code = await trainer.WaitForExitAsync(Deadline);

            Assert.True(code == TrainerExitCodes.Interrupted, $"exit {code}\n{trainer.Stdout}\n{trainer.Stderr}");
            var report = interrupted.ReadTerminationReport();
            Assert.Equal(TerminationStatuses.Preempted, report.Status);
            Assert.True(report.GlobalStep > previousStop, $"stopped at {report.GlobalStep}, previous stop {previousStop}");
            if (previousStop > 0)
            {
                Assert.Equal(previousStop, TrainerRun.ResumedGlobalStep(trainer.Stdout));
            }
            previousStop = report.GlobalStep!.Value;
        }

        var (finalCode, final) = await RunToEndAsync(interrupted);
        using (final)
        {
            Assert.True(finalCode == TrainerExitCodes.Completed, $"exit {finalCode}\n{final.Stdout}\n{final.Stderr}");
            Assert.Equal(previousStop, TrainerRun.ResumedGlobalStep(final.Stdout));
        }
        Assert.Equal(TotalSteps, interrupted.ReadTerminationReport().GlobalStep);
        Assert.Equal(await File.ReadAllBytesAsync(uninterrupted.Output), await File.ReadAllBytesAsync(interrupted.Output));
    }

    [Fact]
    public async Task CustomTrainer_Should_RefuseTheCheckpoint_When_ResumedUnderAnotherModel()
    {
        using var run = new TrainerRun();
        // The built-in trainer writes an mlp checkpoint; the custom trainer (model "spiral-net") must not load it.
        var (builtInCode, builtIn) = await TrainerProcess.RunAsync(run.Args("--epochs", "1"));
        using (builtIn)
        {
            Assert.Equal(TrainerExitCodes.Completed, builtInCode);
        }

        using var custom = TrainerProcess.StartProgram(TrainerProcess.CustomTrainerDll, ["train", .. Args(run)]);
        var code = await custom.WaitForExitAsync(Deadline);

        Assert.Equal(TrainerExitCodes.InvalidConfiguration, code);
        var report = run.ReadTerminationReport();
        Assert.Contains("--model: 'spiral-net' differs from 'mlp'", report.Message, StringComparison.Ordinal);
    }

    private static Task<(int ExitCode, TrainerProcess Process)> RunToEndAsync(TrainerRun run) =>
        Task.Run(async () =>
        {
            var process = TrainerProcess.StartProgram(TrainerProcess.CustomTrainerDll, ["train", .. Args(run)]);
            return (await process.WaitForExitAsync(Deadline), process);
        });

    private static string[] Args(TrainerRun run) =>
    [
        "--epochs", Epochs.ToString(CultureInfo.InvariantCulture),
        "--batch-size", BatchSize.ToString(CultureInfo.InvariantCulture),
        "--lr", "0.01",
        "--seed", "7",
        "--threads", "1",
        "--checkpoint-dir", run.CheckpointDirectory,
        "--checkpoint-every-steps", "40",
        "--output", run.Output,
        "--termination-log", run.TerminationLogPath,
        "--log-every-steps", "1",
        "--progress", "log",
    ];
}
