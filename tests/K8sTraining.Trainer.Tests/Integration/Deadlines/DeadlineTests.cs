using System.Globalization;
using K8sTraining.Contract;
using K8sTraining.Trainer.Tests.Support;

namespace K8sTraining.Trainer.Tests.Integration.Deadlines;

/// <summary>
/// --deadline with the real trainer: it stops before the deadline with a checkpoint (exit 75, DeadlineExceeded, the
/// resume point), refuses to start once the deadline has passed, and a run without the deadline resumes from that
/// checkpoint to the bytes of an uninterrupted run.
/// </summary>
[Collection(TrainerProcessCollection.Name)]
[Trait("Category", "Integration")]
public sealed class DeadlineTests(ReferenceRunFixture reference) : IClassFixture<ReferenceRunFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    // 30 ms a step: the 256 steps take 7.7 s or more, so a deadline 10 s after the start lands mid-run.
    private static readonly Dictionary<string, string> SlowSteps = new() { ["K8STRAINING_TEST_STEP_DELAY_MS"] = "30" };

    [Fact]
    public async Task Train_Should_CheckpointAndExit75BeforeTheDeadlineAndResumeToIdenticalBytes_When_TheDeadlineComesMidRun()
    {
        using var run = new TrainerRun();
        var deadline = DateTimeOffset.UtcNow.AddSeconds(10);
        int code;
        DateTimeOffset exitedAt;
        using (var trainer = TrainerProcess.Start(run.Args("--deadline", Rfc3339(deadline)), SlowSteps))
        {
            code = await trainer.WaitForExitAsync(Timeout);
            exitedAt = DateTimeOffset.UtcNow;
            Assert.True(code == TrainerExitCodes.Interrupted, $"exit {code}\n{trainer.Stdout}\n{trainer.Stderr}");
            Assert.Contains("Stopped for the deadline", trainer.Stdout, StringComparison.Ordinal);
        }
        Assert.True(exitedAt < deadline, $"exited at {exitedAt:O}, after the deadline {deadline:O}");
        var report = run.ReadTerminationReport();
        Assert.Equal(TerminationStatuses.Preempted, report.Status);
        Assert.Equal(TerminationReasons.DeadlineExceeded, report.Reason);
        var stop = report.GlobalStep!.Value;
        Assert.InRange(stop, 0, TrainerRun.TotalSteps - 1);
        Assert.Equal(Path.Combine(run.CheckpointDirectory, CheckpointLayout.DirectoryName(stop)), report.Checkpoint);
        Assert.Equal(stop, run.CommittedSteps()[^1]);

        // Once the deadline has passed (the stop came early, by design, so wait for the instant itself), the next
        // attempt with it exits 75 at once, reporting the same resume point.
        var untilDeadline = deadline - DateTimeOffset.UtcNow;
        if (untilDeadline > TimeSpan.Zero)
        {
            await Task.Delay(untilDeadline + TimeSpan.FromMilliseconds(100));
        }
        var (lateCode, late) = await TrainerProcess.RunAsync(run.Args("--deadline", Rfc3339(deadline)));
        using (late)
        {
            Assert.True(lateCode == TrainerExitCodes.Interrupted, $"exit {lateCode}\n{late.Stdout}\n{late.Stderr}");
            Assert.Contains("passed before training started", late.Stdout, StringComparison.Ordinal);
        }
        var lateReport = run.ReadTerminationReport();
        Assert.Equal(TerminationReasons.DeadlineExceeded, lateReport.Reason);
        Assert.Equal(stop, lateReport.GlobalStep);
        Assert.Equal(report.Checkpoint, lateReport.Checkpoint);
        Assert.Equal(stop, run.CommittedSteps()[^1]);

        var (finalCode, final) = await TrainerProcess.RunAsync(run.Args());
        using (final)
        {
            Assert.True(finalCode == TrainerExitCodes.Completed, $"exit {finalCode}\n{final.Stdout}\n{final.Stderr}");
            Assert.Equal(stop, TrainerRun.ResumedGlobalStep(final.Stdout));
        }
        Assert.True(reference.FinalWeights.AsSpan().SequenceEqual(File.ReadAllBytes(run.Output)), "final weights differ from the uninterrupted run");
    }

    [Fact]
    public async Task Train_Should_Exit75WithoutTraining_When_TheDeadlinePassedBeforeAFreshStart()
    {
        using var run = new TrainerRun();

        var (code, process) = await TrainerProcess.RunAsync(run.Args("--deadline", "2020-01-01T00:00:00Z"));

        using (process)
        {
            Assert.True(code == TrainerExitCodes.Interrupted, $"exit {code}\n{process.Stdout}\n{process.Stderr}");
        }
        var report = run.ReadTerminationReport();
        Assert.Equal(TerminationStatuses.Preempted, report.Status);
        Assert.Equal(TerminationReasons.DeadlineExceeded, report.Reason);
        Assert.Equal(0, report.GlobalStep);
        Assert.Null(report.Checkpoint);
        Assert.Empty(run.CommittedSteps());
    }

    [Fact]
    public async Task Train_Should_StopInsideTheStageWithACheckpointAndContinueUnderARaisedLimit_When_AStagesMaxDurationRunsOut()
    {
        using var run = new TrainerRun();
        // 512 samples in batches of 16: stage a is steps 0-31 (no limit), stage b steps 32-127 at 50 ms or more each
        // (4.8 s), so its 4 s, counted from its start, run out inside it (at its very start on a loaded machine, where
        // the measured step and checkpoint costs already fill the 4 s).
        string[] Staged(int seconds) =>
        [
            "--samples", "512",
            "--stages", """[{"name":"a","epochs":1},{"name":"b","epochs":3,"maxDurationSeconds":""" + seconds.ToString(CultureInfo.InvariantCulture) + "}]",
        ];
        using (var trainer = TrainerProcess.Start(run.Args(Staged(4)), new Dictionary<string, string> { ["K8STRAINING_TEST_STEP_DELAY_MS"] = "50" }))
        {
            var code = await trainer.WaitForExitAsync(Timeout);
            Assert.True(code == TrainerExitCodes.Interrupted, $"exit {code}\n{trainer.Stdout}\n{trainer.Stderr}");
            Assert.Contains("of stage 'b' (maxDurationSeconds 4", trainer.Stdout, StringComparison.Ordinal);
        }
        var report = run.ReadTerminationReport();
        Assert.Equal((TerminationStatuses.Preempted, TerminationReasons.DeadlineExceeded), (report.Status, report.Reason));
        var stop = report.GlobalStep!.Value;
        Assert.InRange(stop, 32, 127);
        Assert.Equal(stop, run.CommittedSteps()[^1]);

        // A raised limit is not a change a resume refuses: the run continues from the checkpoint to its end.
        var (finalCode, final) = await TrainerProcess.RunAsync(run.Args(Staged(600)));
        using (final)
        {
            Assert.True(finalCode == TrainerExitCodes.Completed, $"exit {finalCode}\n{final.Stdout}\n{final.Stderr}");
            Assert.Equal(stop, TrainerRun.ResumedGlobalStep(final.Stdout));
        }
        Assert.Equal(128, run.ReadTerminationReport().GlobalStep);
    }

    private static string Rfc3339(DateTimeOffset instant) => instant.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
