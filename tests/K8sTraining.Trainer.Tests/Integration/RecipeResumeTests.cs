using System.Globalization;
using System.Text.Json;
using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;
using K8sTraining.Trainer.Tests.Support;
using Xunit.Abstractions;

namespace K8sTraining.Trainer.Tests.Integration;

/// <summary>
/// Every recipe feature at once (OneCycle with --lr auto, mixup and CutMix switched off for the last epoch, label
/// smoothing, EMA, gradient accumulation, clipping, a validation split with the best checkpoint) on real trainer
/// processes with real signals: an interrupted run ends with the bytes of one never interrupted.
/// </summary>
[Collection(TrainerProcessCollection.Name)]
[Trait("Category", "Integration")]
public sealed class RecipeResumeTests(ITestOutputHelper testOutput)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(180);

    // 400 Fashion-MNIST images (360 train, 40 validation), 12 batches of 30 per epoch, 3 epochs, 6 optimizer steps per epoch.
    private const int TotalSteps = 36;

    private static string[] Recipe(string directory) =>
    [
        "--model", ModelNames.Cnn, "--dataset", DatasetNames.FashionMnist, "--max-samples-per-class", "40", "--val-fraction", "0.1",
        "--epochs", "3", "--batch-size", "30", "--threads", "1", "--seed", "7",
        "--scheduler", SchedulerNames.OneCycle, "--lr", "auto", "--lr-find-steps", "20", "--optimizer", OptimizerNames.Sgd, "--weight-decay", "0.0005", "--nesterov", "true",
        "--mixup-alpha", "0.4", "--cutmix-alpha", "1.0", "--mix-prob", "0.8", "--mix-off-last-epochs", "1",
        "--label-smoothing", "0.1", "--ema-decay", "0.9", "--grad-accumulation-steps", "2", "--grad-clip-norm", "1.0",
        "--checkpoint-dir", Path.Combine(directory, "checkpoints"), "--checkpoint-every-steps", "5", "--keep-checkpoints", "1",
        "--output", Path.Combine(directory, "weights.bin"), "--termination-log", Path.Combine(directory, "termination-log"),
        "--log-every-steps", "1", "--progress", "log",
    ];

    [Fact]
    public async Task Train_Should_EndWithIdenticalWeightsAndEma_When_EveryRecipeFeatureIsOnAndSigtermedAtThreeRandomSteps()
    {
        using var reference = new TrainerRun();
        using var interrupted = new TrainerRun();
        var (referenceCode, referenceProcess) = await TrainerProcess.RunAsync(Recipe(reference.Directory));
        using (referenceProcess)
        {
            Assert.True(referenceCode == TrainerExitCodes.Completed, $"exit {referenceCode}\n{referenceProcess.Stdout}\n{referenceProcess.Stderr}");
        }

        var random = TestSeed.Create(testOutput);
        var targets = Enumerable.Range(0, 3).Select(_ => (long)random.Next(1, TotalSteps - 8)).Order().ToArray();
        var slow = new Dictionary<string, string> { ["K8STRAINING_TEST_STEP_DELAY_MS"] = "60" };
        long previousStop = -1;
        foreach (var target in targets)
        {
            using var trainer = TrainerProcess.Start(Recipe(interrupted.Directory), slow);
            await trainer.WaitForGlobalStepAsync(Math.Max(target, previousStop + 1), Deadline);
            trainer.SendSigterm();
            var code = await trainer.WaitForExitAsync(Deadline);
            Assert.True(code == TrainerExitCodes.Interrupted, $"exit {code}\n{trainer.Stdout}\n{trainer.Stderr}");
            var stop = interrupted.ReadTerminationReport().GlobalStep!.Value;
            // A stop waits for the whole optimizer step: with accumulation 2 over 12 batches an epoch, an even batch.
            Assert.True(stop % 2 == 0, $"stopped after batch {stop}, inside an accumulation group");
            Assert.True(stop > previousStop, $"stopped at {stop}, previous stop {previousStop}");
            if (previousStop >= 0)
            {
                Assert.Contains("LR finder chose", referenceProcess.Stdout, StringComparison.Ordinal);
                Assert.DoesNotContain("LR finder chose", trainer.Stdout, StringComparison.Ordinal);
            }
            previousStop = stop;
        }
        var (finalCode, final) = await TrainerProcess.RunAsync(Recipe(interrupted.Directory));
        using (final)
        {
            Assert.True(finalCode == TrainerExitCodes.Completed, $"exit {finalCode}\n{final.Stdout}\n{final.Stderr}");
            Assert.DoesNotContain("LR finder chose", final.Stdout, StringComparison.Ordinal);
        }

        Assert.Equal(File.ReadAllBytes(Path.Combine(reference.Directory, "weights.bin")), File.ReadAllBytes(Path.Combine(interrupted.Directory, "weights.bin")));
        var last = CheckpointLayout.DirectoryName(TotalSteps);
        Assert.Equal(
            File.ReadAllBytes(Path.Combine(reference.Directory, "checkpoints", last, CheckpointCodec.EmaFile)),
            File.ReadAllBytes(Path.Combine(interrupted.Directory, "checkpoints", last, CheckpointCodec.EmaFile)));
        Assert.Equal(Best(reference.Directory), Best(interrupted.Directory));
        // The best survives retention (--keep-checkpoints 1) beside the newest.
        var best = Best(reference.Directory)!;
        Assert.True(Directory.Exists(Path.Combine(reference.Directory, "checkpoints", CheckpointLayout.DirectoryName(best.GlobalStep))), $"best step {best.GlobalStep} was removed");
    }

    [Fact]
    public async Task Train_Should_TrainExactlyAsWithTheFoundRate_When_LrIsAuto()
    {
        using var auto = new TrainerRun();
        using var given = new TrainerRun();
        string[] Flags(TrainerRun run, string lr) => [.. run.Args("--scheduler", SchedulerNames.Cosine, "--lr", lr, "--lr-find-steps", "30", "--epochs", "1", "--samples", "512")];

        var (autoCode, autoProcess) = await TrainerProcess.RunAsync(Flags(auto, "auto"));
        using (autoProcess)
        {
            Assert.True(autoCode == TrainerExitCodes.Completed, $"exit {autoCode}\n{autoProcess.Stdout}\n{autoProcess.Stderr}");
        }
        Assert.True(File.Exists(Path.Combine(auto.CheckpointDirectory, "lr-finder", "lr-finder.csv")));
        Assert.True(File.Exists(Path.Combine(auto.CheckpointDirectory, "lr-finder", "lr-finder.png")));
        var newest = Directory.GetDirectories(auto.CheckpointDirectory, CheckpointLayout.DirectorySearchPattern).Max(StringComparer.Ordinal)!;
        using var state = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(newest, "state.json")));
        var found = state.RootElement.GetProperty("foundLearningRate").GetDouble();

        var (givenCode, givenProcess) = await TrainerProcess.RunAsync(Flags(given, found.ToString("R", CultureInfo.InvariantCulture)));
        using (givenProcess)
        {
            Assert.True(givenCode == TrainerExitCodes.Completed, $"exit {givenCode}\n{givenProcess.Stdout}\n{givenProcess.Stderr}");
        }
        Assert.Equal(File.ReadAllBytes(given.Output), File.ReadAllBytes(auto.Output));
    }

    private static BestCheckpoint? Best(string directory)
    {
        var newest = Directory.GetDirectories(Path.Combine(directory, "checkpoints"), CheckpointLayout.DirectorySearchPattern).Max(StringComparer.Ordinal)!;
        return CheckpointManifest.Parse(File.ReadAllText(Path.Combine(newest, CheckpointLayout.ManifestFileName)))!.Best;
    }
}
