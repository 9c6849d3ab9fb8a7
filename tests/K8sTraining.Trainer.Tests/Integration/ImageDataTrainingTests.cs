using K8sTraining.Contract;
using K8sTraining.Trainer.Tests.Support;
using Xunit.Abstractions;

namespace K8sTraining.Trainer.Tests.Integration;

/// <summary>
/// The real trainer on the data sets users bring, generated from Fashion-MNIST: a PNG class-folder tree and a
/// FER2013-style CSV. Each trains on every sample of the file (the step count says so), is SIGTERMed at a random step,
/// resumes, and ends with the bytes of an uninterrupted run.
/// </summary>
[Collection(TrainerProcessCollection.Name)]
[Trait("Category", "Integration")]
public sealed class ImageDataTrainingTests(ITestOutputHelper testOutput)
{
    private const int Epochs = 3;
    private const int BatchSize = 8;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(180);

    // Slows each step so the signal lands mid-run on these tiny sets; the math is unchanged.
    private static readonly Dictionary<string, string> SlowSteps = new() { ["K8STRAINING_TEST_STEP_DELAY_MS"] = "40" };

    [Fact]
    public async Task Train_Should_TrainOnEveryImageAndResumeToIdenticalBytes_When_ImageFolderIsSigtermed()
    {
        using var data = new TrainerRun();
        var layout = GeneratedImageData.WriteImageFolder(Path.Combine(data.Directory, "images"), trainPerClass: 24, testPerClass: 6);
        var trainCount = layout.TrainPerClass * layout.ClassFolders.Count;
        string[] flags =
        [
            "--model", "cnn", "--dataset", DatasetNames.ImageFolder, "--data", layout.Root, "--epochs", $"{Epochs}", "--batch-size", $"{BatchSize}",
            "--checkpoint-every-steps", "10", "--random-crop-padding", "2", "--horizontal-flip", "true",
        ];

        await AssertResumesToIdenticalBytesAsync(flags, StepsFor(trainCount));
    }

    [Fact]
    public async Task Train_Should_TrainResNet18OnTheImageFolderAndResumeToIdenticalBytes_When_Sigtermed()
    {
        using var data = new TrainerRun();
        var layout = GeneratedImageData.WriteImageFolder(Path.Combine(data.Directory, "images"), trainPerClass: 6, testPerClass: 2);
        var trainCount = layout.TrainPerClass * layout.ClassFolders.Count;
        // TorchVision's ResNet-18 with the small-image stem (16 px is under 64), 3 channels, augmented.
        string[] flags =
        [
            "--model", ModelNames.ResNet18, "--dataset", DatasetNames.ImageFolder, "--data", layout.Root, "--image-size", "16",
            "--epochs", "2", "--batch-size", $"{BatchSize}", "--checkpoint-every-steps", "5", "--random-crop-padding", "2", "--horizontal-flip", "true",
        ];

        await AssertResumesToIdenticalBytesAsync(flags, 2 * (long)Math.Ceiling(trainCount / (double)BatchSize), (_, referenceStdout) =>
            Assert.Contains($"Starting {ModelNames.ResNet18} on {DatasetNames.ImageFolder} ({trainCount} training", referenceStdout, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Train_Should_TrainOnEveryRowAndResumeToIdenticalBytes_When_CsvImagesIsSigtermed()
    {
        using var data = new TrainerRun();
        var fer = GeneratedImageData.WriteFerCsv(Path.Combine(data.Directory, "fer.csv"), rarest: 6, publicPerClass: 3, privatePerClass: 3);
        string[] flags =
        [
            "--model", "mlp", "--dataset", DatasetNames.CsvImages, "--data", fer.Path, "--epochs", $"{Epochs}", "--batch-size", $"{BatchSize}",
            "--checkpoint-every-steps", "10", "--class-weights", "auto",
        ];

        await AssertResumesToIdenticalBytesAsync(flags, StepsFor(fer.TrainCounts.Sum()), (run, _) =>
        {
            // Per-class accuracy, one column per class, with a value in every epoch row (PublicTest is the validation split).
            var log = File.ReadAllLines(Path.Combine(run.CheckpointDirectory, "training-log.csv"));
            var header = log[0].Split(',');
            var classColumns = Enumerable.Range(0, fer.TrainCounts.Count).Select(c => Array.IndexOf(header, $"classAccuracy.{c}")).ToList();
            Assert.All(classColumns, i => Assert.True(i > 0, $"no per-class column in {log[0]}"));
            var epochRows = log.Skip(1).Select(l => l.Split(',')).Where(r => r[1] == "epoch").ToList();
            Assert.True(epochRows.Count >= Epochs, $"{epochRows.Count} epoch rows");
            Assert.All(epochRows, r => Assert.All(classColumns, i => Assert.True(double.TryParse(r[i], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double _), $"'{r[i]}' in {string.Join(',', r)}")));
        });
    }

    private static long StepsFor(int trainCount) => Epochs * (long)Math.Ceiling(trainCount / (double)BatchSize);

    private async Task AssertResumesToIdenticalBytesAsync(string[] flags, long totalSteps, Action<TrainerRun, string>? inspect = null)
    {
        using var reference = new TrainerRun();
        var (referenceCode, referenceProcess) = await TrainerProcess.RunAsync(reference.Args(flags), timeoutSeconds: 300);
        string referenceStdout;
        using (referenceProcess)
        {
            Assert.True(referenceCode == TrainerExitCodes.Completed, $"reference run exited {referenceCode}\n{referenceProcess.Stdout}\n{referenceProcess.Stderr}");
            referenceStdout = referenceProcess.Stdout;
        }
        Assert.Equal(totalSteps, reference.ReadTerminationReport().GlobalStep);

        using var run = new TrainerRun();
        var target = (long)TestSeed.Create(testOutput).Next(3, (int)(totalSteps / 3));
        using (var trainer = TrainerProcess.Start(run.Args(flags), SlowSteps))
        {
            await trainer.WaitForGlobalStepAsync(target, Deadline);
            trainer.SendSigterm();
            var code = await trainer.WaitForExitAsync(Deadline);
            Assert.True(code == TrainerExitCodes.Interrupted, $"exit {code}\n{trainer.Stdout}\n{trainer.Stderr}");
        }
        var stop = run.ReadTerminationReport().GlobalStep!.Value;

        var (finalCode, final) = await TrainerProcess.RunAsync(run.Args(flags), timeoutSeconds: 300);
        using (final)
        {
            Assert.True(finalCode == TrainerExitCodes.Completed, $"exit {finalCode}\n{final.Stdout}\n{final.Stderr}");
            Assert.Equal(stop, TrainerRun.ResumedGlobalStep(final.Stdout));
        }
        Assert.Equal(totalSteps, run.ReadTerminationReport().GlobalStep);
        Assert.True(File.ReadAllBytes(reference.Output).AsSpan().SequenceEqual(File.ReadAllBytes(run.Output)), "final weights differ from the uninterrupted run");
        inspect?.Invoke(run, referenceStdout);
    }
}
