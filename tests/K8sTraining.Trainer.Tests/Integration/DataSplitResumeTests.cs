using K8sTraining.Contract;
using K8sTraining.Training.Loop;
using K8sTraining.Training.Progress;
using K8sTraining.Trainer.Tests.Support;
using Xunit.Abstractions;

namespace K8sTraining.Trainer.Tests.Integration;

/// <summary>
/// The data set modes with the real trainer: a limited, stratified-validation, class-weighted run interrupted by SIGTERM
/// and resumed (also under other loader settings) ends with the bytes of an uninterrupted one, and its CSV log carries
/// validation and per-class accuracy.
/// </summary>
[Collection(TrainerProcessCollection.Name)]
[Trait("Category", "Integration")]
public sealed class DataSplitResumeTests(DataSplitResumeTests.Reference reference, ITestOutputHelper testOutput) : IClassFixture<DataSplitResumeTests.Reference>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);

    /// <summary>1024 synthetic samples, at most 80 per class, a fifth of those for validation: 10 x 64 train, 40 steps an epoch.</summary>
    private static readonly string[] SplitFlags = ["--samples", "1024", "--max-samples-per-class", "80", "--val-fraction", "0.2", "--class-weights", "auto"];

    private const int Steps = 80;

    [Fact]
    public async Task Train_Should_EndWithIdenticalWeights_When_ALimitedValidatedWeightedRunIsSigtermedAndResumed()
    {
        using var run = new TrainerRun();
        var stopped = await StopAtRandomStepAsync(run, SplitFlags);
        Assert.Contains(DataSplit.FileName, Directory.GetFiles(Path.Combine(run.CheckpointDirectory, $"step-{stopped:D12}")).Select(Path.GetFileName));

        await ResumeToEndAsync(run, stopped, SplitFlags);

        Assert.True(reference.FinalWeights.AsSpan().SequenceEqual(File.ReadAllBytes(run.Output)), "final weights differ from the uninterrupted run");
    }

    [Fact]
    public async Task Train_Should_EndWithIdenticalWeights_When_ResumedWithOtherLoaderWorkersAndPrefetch()
    {
        using var run = new TrainerRun();
        var stopped = await StopAtRandomStepAsync(run, [.. SplitFlags, "--loader-workers", "1", "--prefetch-batches", "1"]);

        await ResumeToEndAsync(run, stopped, [.. SplitFlags, "--loader-workers", "4", "--prefetch-batches", "6"]);

        Assert.True(reference.FinalWeights.AsSpan().SequenceEqual(File.ReadAllBytes(run.Output)), "final weights differ from the uninterrupted run");
    }

    [Fact]
    public async Task Train_Should_ExitInvalidNamingTheSavedSplit_When_TheDataShrankUnderACheckpoint()
    {
        using var run = new TrainerRun();
        var data = Path.Combine(run.Directory, "fashion-mnist");
        FashionMnistFiles.Write(data, train: 200, test: 20);
        string[] flags = ["--dataset", DatasetNames.FashionMnist, "--data", data, "--val-fraction", "0.2", "--epochs", "1"];
        var (first, firstProcess) = await TrainerProcess.RunAsync(run.Args(flags));
        using (firstProcess)
        {
            Assert.True(first == TrainerExitCodes.Completed, $"exit {first}\n{firstProcess.Stdout}\n{firstProcess.Stderr}");
        }

        FashionMnistFiles.Write(data, train: 50, test: 20);
        var (code, trainer) = await TrainerProcess.RunAsync(run.Args([.. flags, "--epochs", "2"]));
        using (trainer)
        {
            Assert.True(code == TrainerExitCodes.InvalidConfiguration, $"exit {code}\n{trainer.Stdout}\n{trainer.Stderr}");
        }
        var message = run.ReadTerminationReport().Message ?? string.Empty;
        Assert.Contains(DataSplit.FileName, message, StringComparison.Ordinal);
        Assert.Contains("out of range for a training split of 50 samples", message, StringComparison.Ordinal);
    }

    [Fact]
    public void CsvLog_Should_HaveValidationAndPerClassAccuracyColumns_When_TheRunHasAValidationSplit()
    {
        var lines = reference.CsvLog.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var header = lines[0].Split(',');
        var epochRows = lines.Skip(1).Select(l => l.Split(',')).Where(r => r[1] == "epoch").ToList();

        Assert.Equal(CsvObserver.Header.Split(','), header.Take(9));
        Assert.Equal(
            [CsvObserver.ValidationAccuracyColumn, .. Enumerable.Range(0, 10).Select(c => CsvObserver.ClassAccuracyColumnPrefix + c), .. CsvObserver.RecipeColumns],
            header.Skip(9));
        Assert.Equal(2, epochRows.Count);
        static double Number(string cell) => double.Parse(cell, System.Globalization.CultureInfo.InvariantCulture);
        string Cell(string[] row, string column) => row[Array.IndexOf(header, column)];
        Assert.All(epochRows, row =>
        {
            Assert.Equal(header.Length, row.Length);
            // Validation and per-class accuracy (after testAccuracy, before the recipe columns).
            Assert.All(row.Skip(9).SkipLast(CsvObserver.RecipeColumns.Count), cell => Assert.InRange(Number(cell), 0, 1));
            Assert.InRange(Number(Cell(row, "trainAccuracy")), 0, 1);
            Assert.InRange(Number(Cell(row, "validationLoss")), 0, 100);
            Assert.InRange(Number(Cell(row, "momentum")), 0, 1);
            Assert.Equal("none", Cell(row, "mixingMode"));
            Assert.Equal("", Cell(row, "emaValidationAccuracy"));
        });
        // With a validation split the test split is read after the last epoch only.
        Assert.Equal("", Cell(epochRows[0], "testAccuracy"));
        Assert.InRange(Number(Cell(epochRows[^1], "testAccuracy")), 0, 1);
        Assert.Contains("per-class accuracy (validation): 0 ", reference.Stdout, StringComparison.Ordinal);
    }

    private async Task<long> StopAtRandomStepAsync(TrainerRun run, string[] flags)
    {
        var target = TestSeed.Create(testOutput).Next(3, Steps - 30);
        using var trainer = TrainerProcess.Start(run.Args(flags), new Dictionary<string, string> { ["K8STRAINING_TEST_STEP_DELAY_MS"] = "20" });
        await trainer.WaitForGlobalStepAsync(target, Deadline);
        trainer.SendSigterm();
        var code = await trainer.WaitForExitAsync(Deadline);
        Assert.True(code == TrainerExitCodes.Interrupted, $"exit {code}\n{trainer.Stdout}\n{trainer.Stderr}");
        return run.ReadTerminationReport().GlobalStep!.Value;
    }

    private static async Task ResumeToEndAsync(TrainerRun run, long stopped, string[] flags)
    {
        var (code, trainer) = await TrainerProcess.RunAsync(run.Args(flags));
        using (trainer)
        {
            Assert.True(code == TrainerExitCodes.Completed, $"exit {code}\n{trainer.Stdout}\n{trainer.Stderr}");
            Assert.Equal(stopped, TrainerRun.ResumedGlobalStep(trainer.Stdout));
        }
        Assert.Equal(Steps, run.ReadTerminationReport().GlobalStep);
    }

    /// <summary>The uninterrupted run with the split flags, trained once for the class.</summary>
    public sealed class Reference : IAsyncLifetime
    {
        private readonly TrainerRun _run = new();

        public byte[] FinalWeights { get; private set; } = [];

        public string CsvLog { get; private set; } = string.Empty;

        public string Stdout { get; private set; } = string.Empty;

        public async Task InitializeAsync()
        {
            var (code, process) = await TrainerProcess.RunAsync(_run.Args(SplitFlags));
            using (process)
            {
                Assert.True(code == 0, $"reference run exited {code}\n{process.Stdout}\n{process.Stderr}");
                Stdout = process.Stdout;
            }
            FinalWeights = await File.ReadAllBytesAsync(_run.Output);
            CsvLog = await File.ReadAllTextAsync(Path.Combine(_run.CheckpointDirectory, "training-log.csv"));
        }

        public Task DisposeAsync()
        {
            _run.Dispose();
            return Task.CompletedTask;
        }
    }
}
