using K8sTraining.Contract;
using K8sTraining.Training.Hosting;
using K8sTraining.Trainer.Tests.Support;
using Xunit.Abstractions;

namespace K8sTraining.Trainer.Tests.Integration;

/// <summary>Real trainer processes, real signals: an interrupted run must end exactly where an uninterrupted one does.</summary>
[Collection(TrainerProcessCollection.Name)]
[Trait("Category", "Integration")]
public sealed class ResumeTests(ReferenceRunFixture reference, ITestOutputHelper testOutput) : IClassFixture<ReferenceRunFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);

    // Slows each step a little so a signal lands mid-run on this tiny model; the math is unchanged.
    private static readonly Dictionary<string, string> SlowSteps = new() { ["K8STRAINING_TEST_STEP_DELAY_MS"] = "4" };

    [Fact]
    public async Task Train_Should_EndWithIdenticalWeights_When_SigtermedAtThreeRandomPointsAndResumed()
    {
        using var run = new TrainerRun();
        // At least 128 steps of 10 ms before the end: with other tests' trainers on the same 2 cores this test can read
        // a trainer's output most of a second late, and the signal must still find it training.
        var slower = new Dictionary<string, string> { ["K8STRAINING_TEST_STEP_DELAY_MS"] = "10" };
        var random = TestSeed.Create(testOutput);
        var targets = Enumerable.Range(0, 3).Select(_ => (long)random.Next(5, TrainerRun.TotalSteps - 128)).Order().ToArray();
        long previousStop = 0;
        foreach (var target in targets)
        {
            using var trainer = TrainerProcess.Start(run.Args(), slower);
            await trainer.WaitForGlobalStepAsync(Math.Max(target, previousStop + 1), Deadline);
            trainer.SendSigterm();
            if (target == targets[1])
            {
                trainer.SendSigterm(); // a second signal (kubelet, impatient user) changes nothing
            }
            var code = await trainer.WaitForExitAsync(Deadline);

            Assert.True(code == TrainerExitCodes.Interrupted, $"exit {code}\n{trainer.Stdout}\n{trainer.Stderr}");
            var report = run.ReadTerminationReport();
            Assert.Equal(TerminationStatuses.Preempted, report.Status);
            Assert.True(report.GlobalStep > previousStop, $"stopped at {report.GlobalStep}, previous stop {previousStop}");
            Assert.Equal(Path.Combine(run.CheckpointDirectory, $"step-{report.GlobalStep:D12}"), report.Checkpoint);
            if (previousStop > 0)
            {
                Assert.Equal(previousStop, TrainerRun.ResumedGlobalStep(trainer.Stdout));
            }
            previousStop = report.GlobalStep!.Value;
        }

        var (finalCode, final) = await TrainerProcess.RunAsync(run.Args());
        using (final)
        {
            Assert.True(finalCode == TrainerExitCodes.Completed, $"exit {finalCode}\n{final.Stdout}\n{final.Stderr}");
            Assert.Equal(previousStop, TrainerRun.ResumedGlobalStep(final.Stdout));
        }
        Assert.Equal(TerminationStatuses.Completed, run.ReadTerminationReport().Status);
        Assert.Equal(TrainerRun.TotalSteps, run.ReadTerminationReport().GlobalStep);
        AssertSameWeightsAsReference(run.Output);
    }

    [Fact]
    public async Task Train_Should_ResumeFromPreviousValidCheckpoint_When_KilledWhileWritingOne()
    {
        using var run = new TrainerRun();
        var slowWrites = new Dictionary<string, string>(SlowSteps) { ["K8STRAINING_TEST_CHECKPOINT_WRITE_DELAY_MS"] = "300" };
        long committedBeforeKill;
        using (var trainer = TrainerProcess.Start(run.Args(), slowWrites))
        {
            // Kill only once a checkpoint is committed and a newer one is half written.
            await Eventually.TrueAsync(
                () => run.CommittedSteps().Count > 0 && Directory.GetDirectories(run.CheckpointDirectory, "step-*.tmp-*").Any(d => File.Exists(Path.Combine(d, "model.bin"))),
                Deadline,
                "a checkpoint write in progress after a committed one");
            committedBeforeKill = run.CommittedSteps().Max();
            trainer.SendSigkill();
            await trainer.WaitForExitAsync(Deadline);
        }
        Assert.NotEmpty(Directory.GetDirectories(run.CheckpointDirectory, "step-*.tmp-*"));
        Assert.Equal(committedBeforeKill, run.CommittedSteps().Max());

        var (code, resumed) = await TrainerProcess.RunAsync(run.Args());
        using (resumed)
        {
            Assert.True(code == TrainerExitCodes.Completed, $"exit {code}\n{resumed.Stdout}\n{resumed.Stderr}");
            Assert.Equal(committedBeforeKill, TrainerRun.ResumedGlobalStep(resumed.Stdout));
        }
        Assert.Empty(Directory.GetDirectories(run.CheckpointDirectory, "step-*.tmp-*"));
        AssertSameWeightsAsReference(run.Output);
    }

    [Fact]
    public async Task Train_Should_WarnAndUsePreviousCheckpoint_When_NewestIsCorruptedOnDisk()
    {
        using var run = new TrainerRun();
        using (var trainer = TrainerProcess.Start(run.Args(), SlowSteps))
        {
            await trainer.WaitForGlobalStepAsync(2 * TrainerRun.CheckpointEvery + 5, Deadline);
            trainer.SendSigterm();
            Assert.Equal(TrainerExitCodes.Interrupted, await trainer.WaitForExitAsync(Deadline));
        }
        var steps = run.CommittedSteps();
        Assert.True(steps.Count >= 2, $"expected two checkpoints, found {string.Join(",", steps)}");
        var newest = Path.Combine(run.CheckpointDirectory, $"step-{steps[^1]:D12}", "model.bin");
        var bytes = await File.ReadAllBytesAsync(newest);
        bytes[bytes.Length / 2] ^= 0xFF;
        await File.WriteAllBytesAsync(newest, bytes);

        var (code, resumed) = await TrainerProcess.RunAsync(run.Args());
        using (resumed)
        {
            Assert.True(code == TrainerExitCodes.Completed, $"exit {code}\n{resumed.Stdout}\n{resumed.Stderr}");
            Assert.Contains($"step-{steps[^1]:D12} is not usable (model.bin does not match its sha256)", resumed.Stdout, StringComparison.Ordinal);
            Assert.Equal(steps[^2], TrainerRun.ResumedGlobalStep(resumed.Stdout));
        }
        AssertSameWeightsAsReference(run.Output);
    }

    // The issue's repro: 130/140/150 on disk, 150 corrupted; the run resumes from 140 and is SIGTERMed at ~143. Before
    // the fix retention (keep 1) kept the corrupt 150 and deleted 143, and the next run started from step 0.
    [Fact]
    public async Task Train_Should_KeepTheCheckpointJustWrittenAndResumeFromIt_When_ANewerCheckpointIsCorrupt()
    {
        using var run = new TrainerRun();
        var (first, firstProcess) = await TrainerProcess.RunAsync(run.Args("--checkpoint-every-steps", "10", "--keep-checkpoints", "100"));
        using (firstProcess)
        {
            Assert.True(first == TrainerExitCodes.Completed, $"exit {first}\n{firstProcess.Stdout}\n{firstProcess.Stderr}");
        }
        foreach (var step in run.CommittedSteps().Where(s => s is not (130 or 140 or 150)))
        {
            Directory.Delete(Path.Combine(run.CheckpointDirectory, $"step-{step:D12}"), recursive: true);
        }
        var corrupt = Path.Combine(run.CheckpointDirectory, "step-000000000150", "model.bin");
        var bytes = await File.ReadAllBytesAsync(corrupt);
        bytes[bytes.Length / 2] ^= 0xFF;
        await File.WriteAllBytesAsync(corrupt, bytes);

        // 100 ms a step: the signal lands between 140 and the next periodic checkpoint at 150 even on a loaded machine.
        long stoppedAt;
        using (var trainer = TrainerProcess.Start(run.Args("--keep-checkpoints", "1", "--checkpoint-every-steps", "10"), new Dictionary<string, string> { ["K8STRAINING_TEST_STEP_DELAY_MS"] = "100" }))
        {
            await trainer.WaitForGlobalStepAsync(142, Deadline);
            trainer.SendSigterm();
            var code = await trainer.WaitForExitAsync(Deadline);
            Assert.True(code == TrainerExitCodes.Interrupted, $"exit {code}\n{trainer.Stdout}\n{trainer.Stderr}");
            Assert.Equal(140, TrainerRun.ResumedGlobalStep(trainer.Stdout));
            stoppedAt = run.ReadTerminationReport().GlobalStep!.Value;
            Assert.True(stoppedAt is > 140 and < 150, $"the signal must land before step 150 for this case; it stopped at {stoppedAt}");
        }
        Assert.Equal([stoppedAt], run.CommittedSteps());
        Assert.Null(K8sTraining.Training.Checkpoints.LocalCheckpointStore.Verify(Path.Combine(run.CheckpointDirectory, $"step-{stoppedAt:D12}"), out _));

        var (finalCode, final) = await TrainerProcess.RunAsync(run.Args("--keep-checkpoints", "1"));
        using (final)
        {
            Assert.True(finalCode == TrainerExitCodes.Completed, $"exit {finalCode}\n{final.Stdout}\n{final.Stderr}");
            Assert.Equal(stoppedAt, TrainerRun.ResumedGlobalStep(final.Stdout));
        }
        AssertSameWeightsAsReference(run.Output);
    }

    [Theory]
    [InlineData("--seed", "7")]
    [InlineData("--num-classes", "12")]
    [InlineData("--model", "cnn")]
    [InlineData("--optimizer", "sgd")]
    [InlineData("--val-fraction", "0.2")]
    [InlineData("--max-samples-per-class", "20")]
    [InlineData("--class-weights", "auto")]
    [InlineData("--loss", "focal")]
    public async Task Train_Should_ExitInvalidNamingTheField_When_ResumedWithDifferentConfiguration(string flag, string value)
    {
        using var run = new TrainerRun();
        var (first, firstProcess) = await TrainerProcess.RunAsync(run.Args("--epochs", "1", "--samples", "256"));
        firstProcess.Dispose();
        Assert.Equal(TrainerExitCodes.Completed, first);
        var before = Snapshot(run.CheckpointDirectory);

        var (code, process) = await TrainerProcess.RunAsync(run.Args("--epochs", "1", "--samples", "256", flag, value));
        using (process)
        {
            Assert.Equal(TrainerExitCodes.InvalidConfiguration, code);
            Assert.Contains($"{flag}: '{value}' differs from", process.Stdout + process.Stderr, StringComparison.Ordinal);
        }
        var report = run.ReadTerminationReport();
        Assert.Equal(TerminationStatuses.Invalid, report.Status);
        Assert.Contains(flag, report.Message, StringComparison.Ordinal);
        Assert.Equal(before, Snapshot(run.CheckpointDirectory));
    }

    private void AssertSameWeightsAsReference(string output) =>
        Assert.True(reference.FinalWeights.AsSpan().SequenceEqual(File.ReadAllBytes(output)), "final weights differ from the uninterrupted run");

    private static string Snapshot(string dir) =>
        string.Join('\n', Directory.GetFiles(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(f => $"{f} {new FileInfo(f).Length} {File.GetLastWriteTimeUtc(f).Ticks}"));
}
