using K8sTraining.Contract;
using K8sTraining.Trainer.Tests.Support;

namespace K8sTraining.Trainer.Tests.Integration.FineTuning;

/// <summary>
/// The run fine-tunes start from, trained once per test class: a 10-class cnn on 160 Fashion-MNIST images (an image
/// folder; a quarter held out for validation, so it keeps a best), 2 epochs of 6 steps, checkpoints every 3 steps, both
/// in a local directory and an s3rver prefix. Beside it, a 5-class image folder to fine-tune on (the head changes).
/// </summary>
public sealed class FineTuneSourceFixture : IAsyncLifetime
{
    public const int SourceSteps = 12;

    private readonly TrainerRun _run = new();

    public S3rverServer Server { get; private set; } = null!;

    public string SourceDirectory => _run.CheckpointDirectory;

    public string SourceUri => $"s3://{S3rverServer.Bucket}/source";

    /// <summary>The source's own 10-class image folder.</summary>
    public string TenClasses => Path.Combine(_run.Directory, "ten");

    /// <summary>The 5-class image folder the fine-tunes train on.</summary>
    public string FiveClasses => Path.Combine(_run.Directory, "five");

    /// <summary>The source's termination report (its best, its last checkpoint).</summary>
    public TerminationMessage Report { get; private set; } = null!;

    public Dictionary<string, string> Environment => Server.Environment().Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value!);

    public async Task InitializeAsync()
    {
        Server = await S3rverServer.StartAsync();
        var ten = GeneratedImageData.WriteImageFolder(TenClasses, trainPerClass: 16, testPerClass: 2);
        GeneratedImageData.WriteImageFolder(FiveClasses, trainPerClass: 16, testPerClass: 2, classes: 5);
        var (code, process) = await TrainerProcess.RunAsync(
            _run.Args("--model", "cnn", "--dataset", DatasetNames.ImageFolder, "--data", ten.Root, "--val-fraction", "0.25", "--batch-size", "20",
                "--checkpoint-every-steps", "3", "--keep-checkpoints", "10", "--checkpoint-uri", SourceUri),
            Environment);
        using (process)
        {
            Assert.True(code == TrainerExitCodes.Completed, $"source run exited {code}\n{process.Stdout}\n{process.Stderr}");
        }
        Report = _run.ReadTerminationReport();
        Assert.Equal(SourceSteps, Report.GlobalStep);
        Assert.NotNull(Report.Best);
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        _run.Dispose();
    }
}
