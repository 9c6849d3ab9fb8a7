using System.Globalization;
using System.Text.Json;
using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;
using K8sTraining.Training.Commands;
using K8sTraining.Training.Plots;

namespace K8sTraining.Trainer.Tests.Integration.Commands;

/// <summary>lr-find, evaluate, predict and export as the real trainer process, reading a real run's local checkpoints.</summary>
[Collection(TrainerProcessCollection.Name)]
[Trait("Category", "Integration")]
public sealed class LocalCommandsTests(TrainedRunFixture run) : IClassFixture<TrainedRunFixture>, IDisposable
{
    private readonly string _out = Path.Combine(run.Root, "out-" + Guid.NewGuid().ToString("N")[..8]);

    private string Out(string name) => Path.Combine(_out, name);

    [Fact]
    public async Task LrFind_Should_WriteTheCsvThePngAndASuggestion_When_RunOnTheTrainingSplit()
    {
        var (code, p) = await TrainedRunFixture.RunAsync(["lr-find", .. run.DataFlags, "--batch-size", "16", "--lr-find-steps", "40", "--lr-find-start", "1e-5", "--lr-find-end", "10", "--output-dir", _out]);
        using (p)
        {
            Assert.True(code == TrainerExitCodes.Completed, $"exit {code}\n{p.Stdout}\n{p.Stderr}");
            var rows = File.ReadAllLines(Out(LrFinderReport.CsvFileName));
            Assert.InRange(rows.Length - 1, 5, 40);
            var suggested = rows.Skip(1).Single(r => r.EndsWith(",true", StringComparison.Ordinal)).Split(',')[1];
            Assert.Contains($"Suggested learning rate (steepest rule): {suggested}", p.Stdout, StringComparison.Ordinal);
            Assert.True(new FileInfo(Out(LrFinderReport.PngFileName)).Length > 1000);
        }
    }

    [Fact]
    public async Task Evaluate_Should_ReportTheBestCheckpointOnTheTestSplit_When_ReadFromALocalDirectory()
    {
        var (code, p) = await TrainedRunFixture.RunAsync(["evaluate", .. run.DataFlags, "--checkpoint", "best", "--checkpoint-dir", run.CheckpointDirectory, "--output-dir", _out]);
        using (p)
        {
            Assert.True(code == TrainerExitCodes.Completed, $"exit {code}\n{p.Stdout}\n{p.Stderr}");
            using var json = JsonDocument.Parse(File.ReadAllText(Out(EvaluateCommand.JsonFileName)));
            var report = json.RootElement;
            Assert.Equal(TrainedRunFixture.BestStep, report.GetProperty("globalStep").GetInt64());
            Assert.Equal(BestWeightsNames.Raw, report.GetProperty("weights").GetString());
            Assert.Equal(80, report.GetProperty("samples").GetInt32());
            Assert.True(report.GetProperty("loss").GetDouble() is > 0 and < 10);
            var matrix = File.ReadAllLines(Out(ConfusionMatrixReport.CsvFileName)).Skip(1).Select(l => l.Split(',').Skip(1).Select(long.Parse).ToArray()).ToArray();
            Assert.Equal(10, matrix.Length);
            Assert.All(matrix, row => Assert.Equal(8, row.Sum()));
            var correct = Enumerable.Range(0, 10).Sum(i => matrix[i][i]);
            Assert.Equal(correct / 80.0, report.GetProperty("accuracy").GetDouble(), 12);
            var classes = report.GetProperty("classes").EnumerateArray().ToList();
            Assert.Equal(run.Data.SortedClasses, classes.Select(c => c.GetProperty("name").GetString()));
            Assert.Equal(matrix[0][0] / 8.0, classes[0].GetProperty("accuracy").GetDouble(), 12);
            Assert.Contains("Test accuracy ", p.Stdout, StringComparison.Ordinal);
            Assert.True(new FileInfo(Out(ConfusionMatrixReport.PngFileName)).Length > 1000);
        }
    }

    [Fact]
    public async Task Evaluate_Should_MatchTheTrainingRunsFinalTestAccuracy_When_GivenTheLatestCheckpoint()
    {
        var (code, p) = await TrainedRunFixture.RunAsync(["evaluate", .. run.DataFlags, "--checkpoint", "latest", "--checkpoint-dir", run.CheckpointDirectory, "--output-dir", _out]);
        using (p)
        {
            Assert.True(code == TrainerExitCodes.Completed, $"exit {code}\n{p.Stdout}\n{p.Stderr}");
            using var json = JsonDocument.Parse(File.ReadAllText(Out(EvaluateCommand.JsonFileName)));
            Assert.Equal(TrainedRunFixture.LatestStep, json.RootElement.GetProperty("globalStep").GetInt64());
            Assert.Equal(run.FinalTestAccuracy, json.RootElement.GetProperty("accuracy").GetDouble());
        }
    }

    [Fact]
    public async Task Predict_Should_ClassifyTheTestImagesAsEvaluationDoes_When_GivenTheirDirectory()
    {
        var csvPath = Out("predictions.csv");
        var (code, p) = await TrainedRunFixture.RunAsync(["predict", .. run.DataFlags, "--checkpoint", "latest", "--checkpoint-dir", run.CheckpointDirectory, "--input", Path.Combine(run.Data.Root, "test"), "--output", csvPath]);
        using (p)
        {
            Assert.True(code == TrainerExitCodes.Completed, $"exit {code}\n{p.Stdout}\n{p.Stderr}");
            var lines = File.ReadAllLines(csvPath);
            Assert.Equal(["file", "predicted", .. run.Data.SortedClasses], lines[0].Split(','));
            var rows = lines.Skip(1).Select(l => l.Split(',')).ToList();
            Assert.Equal(80, rows.Count);
            Assert.All(rows, r => Assert.Equal(1.0, r.Skip(2).Sum(x => double.Parse(x, CultureInfo.InvariantCulture)), 3));
            // The class folder is the actual class: the same images through the same transform give evaluate's accuracy.
            var correct = rows.Count(r => Path.GetFileName(Path.GetDirectoryName(r[0])) == r[1]);
            Assert.Equal(run.FinalTestAccuracy, correct / 80.0, 12);
        }
    }

    [Fact]
    public async Task Predict_Should_WriteOneRow_When_GivenOneFile()
    {
        var image = Directory.GetFiles(Path.Combine(run.Data.Root, "test", run.Data.SortedClasses[3])).Order(StringComparer.Ordinal).First();
        var csvPath = Out("one.csv");
        var (code, p) = await TrainedRunFixture.RunAsync(["predict", .. run.DataFlags, "--checkpoint-dir", run.CheckpointDirectory, "--input", image, "--output", csvPath]);
        using (p)
        {
            Assert.True(code == TrainerExitCodes.Completed, $"exit {code}\n{p.Stdout}\n{p.Stderr}");
            var lines = File.ReadAllLines(csvPath);
            Assert.Equal(2, lines.Length);
            Assert.StartsWith(image + ",", lines[1], StringComparison.Ordinal);
            Assert.Contains(lines[1].Split(',')[1], run.Data.SortedClasses);
        }
    }

    [Theory]
    [InlineData("best", TrainedRunFixture.BestStep)]
    [InlineData("step-15", TrainedRunFixture.LatestStep)]
    public async Task Export_Should_WriteTheChosenCheckpointsWeights_When_Asked(string selector, long step)
    {
        var output = Out("model.bin");
        var (code, p) = await TrainedRunFixture.RunAsync(["export", "--checkpoint", selector, "--checkpoint-dir", run.CheckpointDirectory, "--output", output]);
        using (p)
        {
            Assert.True(code == TrainerExitCodes.Completed, $"exit {code}\n{p.Stdout}\n{p.Stderr}");
            Assert.Equal(File.ReadAllBytes(Path.Combine(run.StepDirectory(step), CheckpointCodec.ModelFile)), File.ReadAllBytes(output));
            Assert.Empty(Directory.GetFiles(_out, "*.tmp-*"));
        }
    }

    [Fact]
    public async Task EvaluateAndExport_Should_ReadTheBestTheLoopRecorded_When_TheRunHadAValidationSplit()
    {
        var checkpoints = Out("validated-checkpoints");
        var (trained, t) = await TrainedRunFixture.RunAsync([
            "train", .. run.DataFlags, "--val-fraction", "0.25", "--epochs", "3", "--batch-size", "16", "--checkpoint-dir", checkpoints,
            "--keep-checkpoints", "10", "--progress", "log", "--termination-log", Out("termination-log")]);
        using (t)
        {
            Assert.True(trained == TrainerExitCodes.Completed, $"training exited {trained}\n{t.Stdout}\n{t.Stderr}");
        }
        var newest = Directory.GetDirectories(checkpoints, CheckpointLayout.DirectorySearchPattern).Order(StringComparer.Ordinal).Last();
        var best = CheckpointManifest.Parse(File.ReadAllText(Path.Combine(newest, CheckpointLayout.ManifestFileName)))!.Best;
        Assert.NotNull(best);

        var (evaluated, e) = await TrainedRunFixture.RunAsync(["evaluate", .. run.DataFlags, "--checkpoint", "best", "--checkpoint-dir", checkpoints, "--output-dir", _out]);
        using (e)
        {
            Assert.True(evaluated == TrainerExitCodes.Completed, $"evaluate exited {evaluated}\n{e.Stdout}\n{e.Stderr}");
            using var json = JsonDocument.Parse(File.ReadAllText(Out(EvaluateCommand.JsonFileName)));
            Assert.Equal(best!.GlobalStep, json.RootElement.GetProperty("globalStep").GetInt64());
            Assert.Equal(best.Weights, json.RootElement.GetProperty("weights").GetString());
        }
        var exported = Out("best.bin");
        var (code, x) = await TrainedRunFixture.RunAsync(["export", "--checkpoint", "best", "--checkpoint-dir", checkpoints, "--output", exported]);
        using (x)
        {
            Assert.True(code == TrainerExitCodes.Completed, $"export exited {code}\n{x.Stdout}\n{x.Stderr}");
            Assert.Equal(File.ReadAllBytes(Path.Combine(checkpoints, CheckpointLayout.DirectoryName(best!.GlobalStep), CheckpointCodec.ModelFile)), File.ReadAllBytes(exported));
        }
    }

    public static TheoryData<string, string[], string> BadInputs => new()
    {
        { "a step with no checkpoint", ["evaluate", "--checkpoint", "step-7"], "No usable checkpoint step-000000000007" },
        { "EMA weights of a run without EMA", ["evaluate", "--checkpoint", "latest", "--weights", "ema"], "--ema-decay" },
        { "a malformed selector", ["export", "--checkpoint", "newest", "--output", "x.bin"], "--checkpoint: 'newest' is not allowed" },
        { "predict without input", ["predict"], "--input is required" },
        { "export without output", ["export"], "--output is required" },
        { "an input that does not exist", ["predict", "--input", "/nonexistent/images"], "--input /nonexistent/images is neither a file nor a directory" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task Command_Should_ExitTwoWithAClearMessage_When_TheInputIsBad(string name, string[] args, string message)
    {
        var (code, p) = await TrainedRunFixture.RunAsync([.. args, .. run.DataFlags, "--checkpoint-dir", run.CheckpointDirectory]);
        using (p)
        {
            Assert.True(code == TrainerExitCodes.InvalidConfiguration, $"{name}: exit {code}\n{p.Stdout}\n{p.Stderr}");
            Assert.Contains(message, p.Stderr, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Trainer_Should_ListEveryCommand_When_TheCommandIsUnknown()
    {
        var (code, p) = await TrainedRunFixture.RunAsync(["evaluat"]);
        using (p)
        {
            Assert.Equal(TrainerExitCodes.InvalidConfiguration, code);
            Assert.Contains("allowed: train, lr-find, evaluate, predict, export", p.Stderr, StringComparison.Ordinal);
        }
    }

    public void Dispose()
    {
        if (Directory.Exists(_out))
        {
            Directory.Delete(_out, recursive: true);
        }
    }
}
