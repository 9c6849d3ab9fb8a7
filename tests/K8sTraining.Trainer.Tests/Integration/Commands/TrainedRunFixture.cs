using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;
using K8sTraining.Trainer.Tests.Support;

namespace K8sTraining.Trainer.Tests.Integration.Commands;

/// <summary>
/// One small real training run the command tests read: an mlp on 10 classes of PNG images (24 training, 8 test images
/// a class), 15 steps with checkpoints at steps 5, 10 and 15. Until the wired loop records a best checkpoint, the
/// manifests of steps 10 and 15 are given a Best naming step 10, as the loop writes them.
/// </summary>
public sealed class TrainedRunFixture : IAsyncLifetime
{
    public const long BestStep = 10;
    public const long LatestStep = 15;

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "k8st-commands", Guid.NewGuid().ToString("N")[..10]);

    public ImageFolderLayout Data { get; private set; } = null!;

    public string CheckpointDirectory => Path.Combine(Root, "checkpoints");

    /// <summary>The test accuracy the training run reported for its final weights (step 15).</summary>
    public double FinalTestAccuracy { get; private set; }

    /// <summary>The data and model flags of the run, which every command is given.</summary>
    public IReadOnlyList<string> DataFlags => ["--dataset", DatasetNames.ImageFolder, "--data", Data.Root, "--in-channels", "1", "--model", ModelNames.Mlp, "--seed", "42", "--threads", "1"];

    public string StepDirectory(long step) => Path.Combine(CheckpointDirectory, CheckpointLayout.DirectoryName(step));

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Root);
        Data = GeneratedImageData.WriteImageFolder(Path.Combine(Root, "data"));
        var termination = Path.Combine(Root, "termination-log");
        var (code, process) = await RunAsync([
            "train", .. DataFlags, "--epochs", "1", "--batch-size", "16", "--checkpoint-dir", CheckpointDirectory,
            "--checkpoint-every-steps", "5", "--keep-checkpoints", "5", "--progress", "log", "--termination-log", termination]);
        Assert.True(code == TrainerExitCodes.Completed, $"training exited {code}\n{process.Stdout}\n{process.Stderr}");
        FinalTestAccuracy = TerminationMessage.Parse(File.ReadAllText(termination).Trim())!.TestAccuracy!.Value;
        var best = new BestCheckpoint(BestStep, 0, BestMetricNames.ValidationAccuracy, 0.5, BestWeightsNames.Raw);
        foreach (var step in new[] { BestStep, LatestStep })
        {
            var path = Path.Combine(StepDirectory(step), CheckpointLayout.ManifestFileName);
            var manifest = CheckpointManifest.Parse(File.ReadAllText(path))!;
            File.WriteAllText(path, (manifest with { Best = best }).ToJson());
        }
    }

    public static async Task<(int ExitCode, TrainerProcess Process)> RunAsync(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var process = TrainerProcess.StartCommand(args, environment);
        var code = await process.WaitForExitAsync(TimeSpan.FromSeconds(180));
        return (code, process);
    }

    public Task DisposeAsync()
    {
        Directory.Delete(Root, recursive: true);
        return Task.CompletedTask;
    }
}
