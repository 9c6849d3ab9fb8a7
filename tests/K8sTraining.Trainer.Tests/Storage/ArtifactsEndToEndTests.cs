using System.Text;
using K8sTraining.Contract;
using K8sTraining.Training.Plots;
using K8sTraining.Training.Storage;
using K8sTraining.Trainer.Tests.Integration;
using K8sTraining.Trainer.Tests.Support;

namespace K8sTraining.Trainer.Tests.Storage;

/// <summary>
/// The real trainer with S3 checkpoints (s3rver): the plots and logs are in S3 after an epoch and after a preemption,
/// and a replacement pod with an empty directory continues them, so the finished run's logs and plots tell its whole
/// story once.
/// </summary>
[Collection(TrainerProcessCollection.Name)]
[Trait("Category", "Integration")]
public sealed class ArtifactsEndToEndTests(S3rverFixture s3) : IClassFixture<S3rverFixture>
{
    private const int Epochs = 10;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);

    private Dictionary<string, string> Environment()
    {
        var env = s3.Server.Environment().Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value!);
        // 12 steps an epoch, slowed so that the signal lands while the run still has epochs to go.
        env["K8STRAINING_TEST_STEP_DELAY_MS"] = "30";
        return env;
    }

    private static string[] Flags(string uri) =>
    [
        "--checkpoint-uri", uri, "--samples", "512", "--val-fraction", "0.25", "--batch-size", "32", "--epochs", $"{Epochs}",
        "--checkpoint-every-steps", "5", "--log-every-steps", "1",
    ];

    private S3ObjectClient Objects(string uri)
    {
        var env = s3.Server.Environment();
        return new S3ObjectClient(S3StoreOptions.FromEnvironment(uri, 3, n => env.GetValueOrDefault(n)));
    }

    private static async Task<string?> RemoteTextAsync(S3ObjectClient objects, string relative) =>
        await objects.GetBytesAsync(objects.Location.Key(ArtifactLayout.RemoteName(relative)), CancellationToken.None) is { } bytes ? Encoding.UTF8.GetString(bytes) : null;

    [Fact]
    public async Task Train_Should_KeepPlotsAndLogsInS3AndContinueThem_When_PreemptedAndReplacedOnAnEmptyNode()
    {
        var uri = $"s3://{S3rverServer.Bucket}/artifacts-e2e/{Guid.NewGuid():N}";
        using var objects = Objects(uri);
        using var first = new TrainerRun();
        using (var trainer = TrainerProcess.Start(first.Args(Flags(uri)), Environment()))
        {
            // Plots exist after an epoch, locally and in S3.
            await Eventually.TrueAsync(
                async () => await objects.GetBytesAsync(objects.Location.Key(ArtifactLayout.RemoteName($"{ArtifactLayout.PlotsFolderName}/{TrainingPlots.ByEpochFileName}")), CancellationToken.None) is not null,
                "the first epoch's plot in S3",
                Deadline);
            trainer.SendSigterm();
            var code = await trainer.WaitForExitAsync(Deadline);
            Assert.True(code == TrainerExitCodes.Interrupted, $"exit {code}\n{trainer.Stdout}\n{trainer.Stderr}");
        }
        Assert.All(
            [TrainingPlots.ByEpochFileName, TrainingPlots.ByTimeFileName, TrainingPlots.ScheduleFileName],
            f => Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(Path.Combine(first.CheckpointDirectory, ArtifactLayout.PlotsFolderName, f))[..4]));
        // The preempted attempt's last words (its stop line) went up before it exited.
        var stoppedLog = await File.ReadAllTextAsync(Path.Combine(first.CheckpointDirectory, ArtifactLayout.TextLogFileName));
        Assert.Contains("--- stopped at global step", stoppedLog, StringComparison.Ordinal);
        Assert.Equal(stoppedLog, await RemoteTextAsync(objects, ArtifactLayout.TextLogFileName));

        // The replacement lands on another node: an empty checkpoint directory, the same prefix.
        using var second = new TrainerRun();
        var (finalCode, final) = await TrainerProcess.RunAsync(second.Args(Flags(uri)), Environment());
        using (final)
        {
            Assert.True(finalCode == TrainerExitCodes.Completed, $"exit {finalCode}\n{final.Stdout}\n{final.Stderr}");
            Assert.NotNull(TrainerRun.ResumedGlobalStep(final.Stdout));
        }

        var text = await File.ReadAllTextAsync(Path.Combine(second.CheckpointDirectory, ArtifactLayout.TextLogFileName));
        var lines = text.Split('\n');
        Assert.Equal(Enumerable.Range(1, Epochs).Select(e => $"epoch {e}/{Epochs} "), lines.Where(l => l.StartsWith("epoch ", StringComparison.Ordinal)).Select(l => l[..(l.IndexOf(' ', 6) + 1)]));
        Assert.Single(lines, l => l.StartsWith("--- started", StringComparison.Ordinal));
        Assert.Single(lines, l => l.StartsWith("--- stopped", StringComparison.Ordinal));
        Assert.Single(lines, l => l.StartsWith("--- resumed", StringComparison.Ordinal) && l.EndsWith("attempt 2", StringComparison.Ordinal));
        Assert.Contains($"=== completed {Epochs} epoch(s)", text, StringComparison.Ordinal);
        Assert.Matches(@"best checkpoint:  step-\d{12} \(epoch \d+, val-accuracy 0\.\d{4}, raw weights\)", text);
        Assert.Matches(@"test accuracy:    0\.\d{4}", text);
        Assert.Equal(text, await RemoteTextAsync(objects, ArtifactLayout.TextLogFileName));

        var csv = await File.ReadAllLinesAsync(Path.Combine(second.CheckpointDirectory, ArtifactLayout.CsvLogFileName));
        Assert.Single(csv, l => l.StartsWith("timestamp,", StringComparison.Ordinal));
        Assert.Equal(Enumerable.Range(0, Epochs).Select(e => $"{e}"), csv.Select(l => l.Split(',')).Where(r => r[1] == "epoch").Select(r => r[2]).Distinct());
        Assert.Equal(string.Join('\n', csv) + "\n", await RemoteTextAsync(objects, ArtifactLayout.CsvLogFileName));
        Assert.Equal(
            await File.ReadAllBytesAsync(Path.Combine(second.CheckpointDirectory, ArtifactLayout.PlotsFolderName, TrainingPlots.ScheduleFileName)),
            await objects.GetBytesAsync(objects.Location.Key(ArtifactLayout.RemoteName($"{ArtifactLayout.PlotsFolderName}/{TrainingPlots.ScheduleFileName}")), CancellationToken.None));
    }
}
