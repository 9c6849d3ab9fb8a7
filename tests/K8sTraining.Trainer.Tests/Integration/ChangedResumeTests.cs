using System.Globalization;
using System.Text.Json;
using K8sTraining.Contract;
using K8sTraining.Training.Loop;
using K8sTraining.Training.Resume;
using K8sTraining.Trainer.Tests.Support;

namespace K8sTraining.Trainer.Tests.Integration;

/// <summary>
/// Real trainer processes resumed under changed parameters (trainer/README.md, "Resuming with changed parameters"): what
/// a resume may change, what it refuses, and that the data sequence and the bytes stay exact around a change.
/// </summary>
[Collection(TrainerProcessCollection.Name)]
[Trait("Category", "Integration")]
public sealed class ChangedResumeTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);

    // 512 samples: 32 batches of 16 an epoch.
    private const int Samples = 512;

    [Fact]
    public async Task Train_Should_ContinueAtTheSameSampleAndSeeEachSampleOnce_When_TheBatchSizeChangesOnResume()
    {
        using var run = new TrainerRun();
        using var again = new TrainerRun();
        var trace = Path.Combine(run.Directory, "samples.txt");
        var slow = new Dictionary<string, string> { ["K8STRAINING_TEST_STEP_DELAY_MS"] = "100", [SampleTrace.EnvironmentVariable] = trace };
        long stop;
        using (var first = TrainerProcess.Start(Args(run), slow))
        {
            await first.WaitForGlobalStepAsync(4, Deadline);
            first.SendSigterm();
            var code = await first.WaitForExitAsync(Deadline);
            Assert.True(code == TrainerExitCodes.Interrupted, $"exit {code}\n{first.Stdout}\n{first.Stderr}");
            stop = run.ReadTerminationReport().GlobalStep!.Value;
        }
        Assert.True(stop is > 0 and < 31, $"the signal must land inside epoch 0 for this case; it stopped at {stop}");
        // The same interrupted run, resumed below twice (stopped once more) under the same change.
        CopyDirectory(run.CheckpointDirectory, again.CheckpointDirectory);

        var (resumedCode, resumed) = await TrainerProcess.RunAsync(Args(run, "--batch-size", "24"), new Dictionary<string, string> { [SampleTrace.EnvironmentVariable] = trace });
        using (resumed)
        {
            Assert.True(resumedCode == TrainerExitCodes.Completed, $"exit {resumedCode}\n{resumed.Stdout}\n{resumed.Stderr}");
            Assert.Contains($"--batch-size from 16 to 24 at global step {stop} (sample {stop * 16} of epoch 0)", resumed.Stdout, StringComparison.Ordinal);
        }

        var epochZero = File.ReadAllLines(trace).Where(l => l.StartsWith("0:", StringComparison.Ordinal))
            .SelectMany(l => l[2..].Split(',').Select(i => int.Parse(i, CultureInfo.InvariantCulture))).Order().ToList();
        Assert.Equal(Enumerable.Range(0, Samples), epochZero);
        var batchSizes = File.ReadAllLines(trace).Where(l => l.StartsWith("1:", StringComparison.Ordinal)).Select(l => l.Split(',').Length).ToList();
        Assert.Equal([.. Enumerable.Repeat(24, 21), 8], batchSizes);
        var state = FinalState(run);
        var change = Assert.Single(state.Lineage);
        Assert.Equal(new LineageEntry(stop, (int)stop * 16, "--batch-size", "16", "24"), change);
        Assert.Equal(24, state.Configuration.BatchSize);

        using (var interrupted = TrainerProcess.Start(Args(again, "--batch-size", "24"), new Dictionary<string, string> { ["K8STRAINING_TEST_STEP_DELAY_MS"] = "100" }))
        {
            await interrupted.WaitForGlobalStepAsync(stop + 2, Deadline);
            interrupted.SendSigterm();
            var code = await interrupted.WaitForExitAsync(Deadline);
            Assert.True(code == TrainerExitCodes.Interrupted, $"exit {code}\n{interrupted.Stdout}\n{interrupted.Stderr}");
        }
        var (finalCode, final) = await TrainerProcess.RunAsync(Args(again, "--batch-size", "24"));
        using (final)
        {
            Assert.True(finalCode == TrainerExitCodes.Completed, $"exit {finalCode}\n{final.Stdout}\n{final.Stderr}");
            Assert.DoesNotContain("--batch-size from", final.Stdout, StringComparison.Ordinal);
        }
        Assert.True(File.ReadAllBytes(run.Output).AsSpan().SequenceEqual(File.ReadAllBytes(again.Output)), "a run resumed under the same change twice must end with the bytes of one resumed once");
        Assert.Equal(state.Lineage, FinalState(again).Lineage);
    }

    [Fact]
    public async Task Train_Should_FinishTheEpochOverTheOldSamplesAndTakeTheNewCountAtTheNextEpoch_When_SamplesGrowMidEpoch()
    {
        using var run = new TrainerRun();
        var trace = Path.Combine(run.Directory, "samples.txt");
        long stop;
        using (var first = TrainerProcess.Start(Args(run), new Dictionary<string, string> { ["K8STRAINING_TEST_STEP_DELAY_MS"] = "100", [SampleTrace.EnvironmentVariable] = trace }))
        {
            await first.WaitForGlobalStepAsync(4, Deadline);
            first.SendSigterm();
            var code = await first.WaitForExitAsync(Deadline);
            Assert.True(code == TrainerExitCodes.Interrupted, $"exit {code}\n{first.Stdout}\n{first.Stderr}");
            stop = run.ReadTerminationReport().GlobalStep!.Value;
        }
        Assert.True(stop is > 0 and < 31, $"the signal must land inside epoch 0 for this case; it stopped at {stop}");

        var (resumedCode, resumed) = await TrainerProcess.RunAsync(Args(run, "--samples", "640"), new Dictionary<string, string> { [SampleTrace.EnvironmentVariable] = trace });
        using (resumed)
        {
            Assert.True(resumedCode == TrainerExitCodes.Completed, $"exit {resumedCode}\n{resumed.Stdout}\n{resumed.Stderr}");
            Assert.Contains("the new --samples takes effect at epoch 1", resumed.Stdout, StringComparison.Ordinal);
        }

        List<int> Seen(int epoch) => [.. File.ReadAllLines(trace).Where(l => l.StartsWith($"{epoch}:", StringComparison.Ordinal))
            .SelectMany(l => l[(l.IndexOf(':', StringComparison.Ordinal) + 1)..].Split(',').Select(i => int.Parse(i, CultureInfo.InvariantCulture))).Order()];
        Assert.Equal(Enumerable.Range(0, Samples), Seen(0));
        Assert.Equal(Enumerable.Range(0, 640), Seen(1));
        Assert.Equal(new LineageEntry(stop, (int)stop * 16, "--samples", "512", "640"), Assert.Single(FinalState(run).Lineage));
    }

    [Fact]
    public async Task Train_Should_TrainTwoMoreEpochsExactlyAsARunStartedWithThem_When_AFinishedRunIsExtended()
    {
        using var extended = new TrainerRun();
        using var whole = new TrainerRun();
        var (firstCode, first) = await TrainerProcess.RunAsync(Args(extended, "--epochs", "1"));
        using (first)
        {
            Assert.True(firstCode == TrainerExitCodes.Completed, $"exit {firstCode}\n{first.Stdout}\n{first.Stderr}");
        }

        var (code, process) = await TrainerProcess.RunAsync(Args(extended, "--epochs", "3"));
        using (process)
        {
            Assert.True(code == TrainerExitCodes.Completed, $"exit {code}\n{process.Stdout}\n{process.Stderr}");
            Assert.Equal(32, TrainerRun.ResumedGlobalStep(process.Stdout));
        }
        var (wholeCode, wholeProcess) = await TrainerProcess.RunAsync(Args(whole, "--epochs", "3"));
        wholeProcess.Dispose();
        Assert.Equal(TrainerExitCodes.Completed, wholeCode);

        var state = FinalState(extended);
        Assert.Equal([0, 1, 2], state.History.Select(h => h.Epoch));
        Assert.Equal(new LineageEntry(32, 0, "--epochs", "1", "3"), Assert.Single(state.Lineage));
        Assert.True(File.ReadAllBytes(whole.Output).AsSpan().SequenceEqual(File.ReadAllBytes(extended.Output)), "a step schedule does not span the run: the extended run is the run started with 3 epochs");
    }

    [Fact]
    public async Task Train_Should_RefuseWithoutReconfigureAndContinueTheRebuiltScheduleFromThePosition_When_TheLearningRateChanges()
    {
        using var run = new TrainerRun();
        var (firstCode, first) = await TrainerProcess.RunAsync(Args(run, "--epochs", "1", "--scheduler", SchedulerNames.Cosine, "--lr", "0.001"));
        using (first)
        {
            Assert.True(firstCode == TrainerExitCodes.Completed, $"exit {firstCode}\n{first.Stdout}\n{first.Stderr}");
        }

        string[] changed = ["--epochs", "2", "--scheduler", SchedulerNames.Cosine, "--lr", "0.002"];
        var (refusedCode, refused) = await TrainerProcess.RunAsync(Args(run, changed));
        using (refused)
        {
            Assert.True(refusedCode == TrainerExitCodes.InvalidConfiguration, $"exit {refusedCode}\n{refused.Stdout}\n{refused.Stderr}");
        }
        var message = run.ReadTerminationReport().Message ?? string.Empty;
        Assert.StartsWith("--lr: '0.002' differs from '0.001'", message, StringComparison.Ordinal);
        Assert.Contains("--reconfigure true", message, StringComparison.Ordinal);

        var (code, process) = await TrainerProcess.RunAsync(Args(run, [.. changed, "--reconfigure", "true"]));
        using (process)
        {
            Assert.True(code == TrainerExitCodes.Completed, $"exit {code}\n{process.Stdout}\n{process.Stderr}");
        }
        // A CSV row of global step g shows optimizer step g - 1. The new cosine (0.002 over 2 epochs) is read from the
        // position (step 32 of 64): its middle, not its start.
        var rates = StepLearningRates(run);
        Assert.True(rates[32] < 0.0001, $"the first attempt's cosine ends near 0; step 31 had {rates[32]}");
        Assert.Equal(0.001, rates[33], 6);
        Assert.Equal(0.002 * (1 + Math.Cos(Math.PI * 63 / 64)) / 2, rates[64], 6);
        var lineage = FinalState(run).Lineage;
        Assert.Equal(["--lr", "--epochs"], lineage.Select(l => l.Field));
        Assert.All(lineage, l => Assert.Equal(32, l.GlobalStep));
    }

    [Fact]
    public async Task Train_Should_ExitInvalidNamingTheField_When_AResumeChangesWhatItCannot()
    {
        using var run = new TrainerRun();
        var (first, firstProcess) = await TrainerProcess.RunAsync(Args(run, "--epochs", "1"));
        firstProcess.Dispose();
        Assert.Equal(TrainerExitCodes.Completed, first);

        // flag, value, with --reconfigure: architecture, data set identity, and the seed even with --reconfigure.
        (string Flag, string Value, bool Reconfigure)[] cases = [("--in-channels", "3", false), ("--dataset", DatasetNames.FashionMnist, false), ("--seed", "7", true)];
        foreach (var (flag, value, reconfigure) in cases)
        {
            var (code, process) = await TrainerProcess.RunAsync(Args(run, "--epochs", "1", flag, value, "--reconfigure", reconfigure ? "true" : "false"));
            process.Dispose();

            Assert.True(code == TrainerExitCodes.InvalidConfiguration, $"{flag}: exit {code}");
            var message = run.ReadTerminationReport().Message ?? string.Empty;
            Assert.StartsWith($"{flag}: '{value}' differs from", message, StringComparison.Ordinal);
            Assert.Contains("a resume cannot change it", message, StringComparison.Ordinal);
        }
        Assert.Empty(FinalState(run).Lineage);
    }

    private static IReadOnlyList<string> Args(TrainerRun run, params string[] overrides) =>
        run.Args(["--samples", Samples.ToString(CultureInfo.InvariantCulture), "--checkpoint-every-steps", "0", .. overrides]);

    private static TrainingState FinalState(TrainerRun run)
    {
        var newest = run.CommittedSteps()[^1];
        return TrainingState.Parse(File.ReadAllBytes(Path.Combine(run.CheckpointDirectory, CheckpointLayout.DirectoryName(newest), TrainingState.FileName)));
    }

    /// <summary>The learning rate of each global step from the CSV log (the last row wins for a step logged twice).</summary>
    private static Dictionary<long, double> StepLearningRates(TrainerRun run)
    {
        var lines = File.ReadAllLines(Path.Combine(run.CheckpointDirectory, ArtifactLayout.CsvLogFileName));
        var header = lines[0].Split(',');
        int Column(string name) => Array.IndexOf(header, name);
        var rates = new Dictionary<long, double>();
        foreach (var cells in lines.Skip(1).Select(l => l.Split(',')).Where(c => c[Column("kind")] == "step"))
        {
            rates[long.Parse(cells[Column("globalStep")], CultureInfo.InvariantCulture)] = double.Parse(cells[Column("learningRate")], CultureInfo.InvariantCulture);
        }
        return rates;
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var directory in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(directory.Replace(from, to, StringComparison.Ordinal));
        }
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, file.Replace(from, to, StringComparison.Ordinal));
        }
    }
}
