using System.Text.Json;
using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;
using K8sTraining.Trainer.Tests.Support;

namespace K8sTraining.Trainer.Tests.Integration;

/// <summary>
/// A 3-stage curriculum (image size 16 -> 24 -> 28, data fraction 0.5 -> 0.75 -> 1, the last stage without mixup, the
/// second from the best weights of the first) on real trainer processes: stopped once inside each stage by SIGTERM and
/// exactly at both stage boundaries, it ends with the bytes of a run never interrupted.
/// </summary>
[Collection(TrainerProcessCollection.Name)]
[Trait("Category", "Integration")]
public sealed class StagedCurriculumTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(180);

    // 400 synthetic 28x28 images: 360 train, 40 validation (100 test). small: 2 epochs of 180 at batch 30 (12 steps); medium: 2
    // epochs of 270 at batch 45 (12 steps); full: 1 epoch of 360 at batch 30 (12 steps).
    private const int TotalSteps = 36;
    private const int FirstBoundary = 12;
    private const int SecondBoundary = 24;

    private const string Stages = """
        [{"name":"small","epochs":2,"imageSize":16,"dataFraction":0.5},
         {"name":"medium","epochs":2,"imageSize":24,"dataFraction":0.75,"batchSize":45,"lrScale":0.5,"initFrom":"best-of-previous"},
         {"name":"full","epochs":1,"dataFraction":1,"mixup":false,"freeze":["conv1"]}]
        """;

    private static string[] Curriculum(string directory) =>
    [
        "--model", ModelNames.Cnn, "--dataset", DatasetNames.Synthetic, "--samples", "400", "--val-fraction", "0.1",
        "--stages", Stages, "--batch-size", "30", "--threads", "1", "--seed", "11",
        "--optimizer", OptimizerNames.Sgd, "--lr", "0.05", "--scheduler", SchedulerNames.Cosine, "--mixup-alpha", "0.4", "--ema-decay", "0.9",
        "--checkpoint-dir", Path.Combine(directory, "checkpoints"), "--checkpoint-every-steps", "5",
        "--output", Path.Combine(directory, "weights.bin"), "--termination-log", Path.Combine(directory, "termination-log"),
        "--log-every-steps", "1", "--progress", "log",
    ];

    [Fact]
    public async Task Train_Should_EndByteIdentical_When_StoppedInsideEveryStageAndAtEveryStageBoundary()
    {
        using var reference = new TrainerRun();
        using var interrupted = new TrainerRun();
        var (referenceCode, referenceProcess) = await TrainerProcess.RunAsync(Curriculum(reference.Directory));
        using (referenceProcess)
        {
            Assert.True(referenceCode == TrainerExitCodes.Completed, $"exit {referenceCode}\n{referenceProcess.Stdout}\n{referenceProcess.Stderr}");
            Assert.Contains("Stage 3/3 'full'", referenceProcess.Stdout, StringComparison.Ordinal);
        }
        Assert.Equal(new StageReport("full", 2, 3), reference.ReadTerminationReport().Stage);

        // Inside small, exactly at its end, inside medium, exactly at its end, inside full.
        (long AtLeast, string? StopAt, long Below, string Stage)[] stops =
        [
            (3, null, FirstBoundary, "small"),
            (0, $"{FirstBoundary}", FirstBoundary + 1, "medium"),
            (FirstBoundary + 3, null, SecondBoundary, "medium"),
            (0, $"{SecondBoundary}", SecondBoundary + 1, "full"),
            (SecondBoundary + 3, null, TotalSteps, "full"),
        ];
        long previous = 0;
        foreach (var (atLeast, stopAt, below, stage) in stops)
        {
            var environment = new Dictionary<string, string> { ["K8STRAINING_TEST_STEP_DELAY_MS"] = "100" };
            if (stopAt is not null)
            {
                environment["K8STRAINING_TEST_STOP_AT_STEPS"] = stopAt;
            }
            using var trainer = TrainerProcess.Start(Curriculum(interrupted.Directory), environment);
            if (stopAt is null)
            {
                await trainer.WaitForGlobalStepAsync(Math.Max(atLeast, previous + 1), Deadline);
                trainer.SendSigterm();
            }
            var code = await trainer.WaitForExitAsync(Deadline);
            Assert.True(code == TrainerExitCodes.Interrupted, $"exit {code}\n{trainer.Stdout}\n{trainer.Stderr}");
            var report = interrupted.ReadTerminationReport();
            var at = report.GlobalStep!.Value;
            Assert.True(at > previous && at < below, $"stopped at {at}, wanted after {previous} and before {below}\n{trainer.Stdout}");
            if (stopAt is not null)
            {
                Assert.Equal(long.Parse(stopAt, System.Globalization.CultureInfo.InvariantCulture), at);
            }
            Assert.Equal(stage, report.Stage?.Name);
            previous = at;
        }
        var (finalCode, final) = await TrainerProcess.RunAsync(Curriculum(interrupted.Directory));
        using (final)
        {
            Assert.True(finalCode == TrainerExitCodes.Completed, $"exit {finalCode}\n{final.Stdout}\n{final.Stderr}");
        }

        Assert.Equal(File.ReadAllBytes(Path.Combine(reference.Directory, "weights.bin")), File.ReadAllBytes(Path.Combine(interrupted.Directory, "weights.bin")));
        var last = CheckpointLayout.DirectoryName(TotalSteps);
        Assert.Equal(
            File.ReadAllBytes(Path.Combine(reference.Directory, "checkpoints", last, CheckpointCodec.EmaFile)),
            File.ReadAllBytes(Path.Combine(interrupted.Directory, "checkpoints", last, CheckpointCodec.EmaFile)));
        foreach (var name in new[] { "small", "medium", "full" })
        {
            foreach (var which in new[] { ArtifactLayout.StageBestFolderName, ArtifactLayout.StageLastFolderName })
            {
                var relative = Path.Combine(ArtifactLayout.StagesFolderName, name, which, CheckpointCodec.ModelFile);
                Assert.Equal(File.ReadAllBytes(Path.Combine(reference.Directory, "checkpoints", relative)), File.ReadAllBytes(Path.Combine(interrupted.Directory, "checkpoints", relative)));
            }
        }
        using var info = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(reference.Directory, "checkpoints", ArtifactLayout.StagesFolderName, "small", ArtifactLayout.StageLastFolderName, ArtifactLayout.StageInfoFileName)));
        Assert.Equal(FirstBoundary, info.RootElement.GetProperty("globalStep").GetInt64());
        var csv = File.ReadAllLines(Path.Combine(reference.Directory, "checkpoints", ArtifactLayout.CsvLogFileName));
        Assert.EndsWith(",stage", csv[0], StringComparison.Ordinal);
        Assert.EndsWith(",full", csv[^1], StringComparison.Ordinal);
    }
}
