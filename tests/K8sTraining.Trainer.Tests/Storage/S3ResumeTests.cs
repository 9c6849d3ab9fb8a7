using K8sTraining.Trainer.Hosting;
using K8sTraining.Trainer.Tests.Integration;
using K8sTraining.Trainer.Tests.Support;

namespace K8sTraining.Trainer.Tests.Storage;

/// <summary>
/// The real trainer with --checkpoint-uri against a real s3rver: preempted runs on "fresh nodes" (local directory wiped)
/// resume from S3 and end byte-identical to an uninterrupted run.
/// </summary>
[Collection(TrainerProcessCollection.Name)]
public sealed class S3ResumeTests(ReferenceRunFixture reference, S3rverFixture s3) : IClassFixture<ReferenceRunFixture>, IClassFixture<S3rverFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);

    private static Dictionary<string, string> Environment(S3rverServer server)
    {
        var env = server.Environment().Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value!);
        // Slows each step (10 ms, 2.6 s a run) so a signal lands mid-run on this tiny model even when this test reads
        // the trainer's output late on a loaded machine; the math is unchanged.
        env["K8STRAINING_TEST_STEP_DELAY_MS"] = "10";
        return env;
    }

    [Fact]
    public async Task Train_Should_EndWithIdenticalWeights_When_PreemptedThreeTimesWithLocalDirectoryWipedEachTime()
    {
        using var run = new TrainerRun();
        var prefix = "e2e/" + Guid.NewGuid().ToString("N")[..10];
        var uri = $"s3://{S3rverServer.Bucket}/{prefix}";
        var env = Environment(s3.Server);
        // At least 128 steps before the end: with other tests' trainers on the same 2 cores this test can read a
        // trainer's output most of a second late, and the signal must still find it training.
        var targets = Enumerable.Range(0, 3).Select(_ => (long)Random.Shared.Next(30, TrainerRun.TotalSteps - 128)).Order().ToArray();
        long previousStop = 0;
        foreach (var target in targets)
        {
            using var trainer = TrainerProcess.Start(run.Args("--checkpoint-uri", uri), env);
            await trainer.WaitForGlobalStepAsync(Math.Max(target, previousStop + 1), Deadline);
            trainer.SendSigterm();
            var code = await trainer.WaitForExitAsync(Deadline);

            Assert.True(code == ExitCodes.Resumable, $"exit {code}\n{trainer.Stdout}\n{trainer.Stderr}");
            var report = run.ReadTerminationReport();
            Assert.Equal(TerminationReport.Preempted, report.Status);
            Assert.True(report.CheckpointUploaded, $"not uploaded: {report}\n{trainer.Stdout}");
            Assert.Equal($"{uri}/step-{report.GlobalStep:D12}", report.Checkpoint);
            Assert.True(report.GlobalStep > previousStop, $"stopped at {report.GlobalStep}, previous stop {previousStop}");
            if (previousStop > 0)
            {
                Assert.Equal(previousStop, TrainerRun.ResumedGlobalStep(trainer.Stdout));
            }
            previousStop = report.GlobalStep;

            // The next pod lands on another node: nothing local survives.
            Directory.Delete(run.CheckpointDirectory, recursive: true);
        }

        var (finalCode, final) = await TrainerProcess.RunAsync(run.Args("--checkpoint-uri", uri), env);
        using (final)
        {
            Assert.True(finalCode == ExitCodes.Completed, $"exit {finalCode}\n{final.Stdout}\n{final.Stderr}");
            Assert.Equal(previousStop, TrainerRun.ResumedGlobalStep(final.Stdout));
        }
        Assert.Equal(TrainerRun.TotalSteps, run.ReadTerminationReport().GlobalStep);
        var weights = await File.ReadAllBytesAsync(run.Output);
        Assert.True(reference.FinalWeights.SequenceEqual(weights), "final weights differ from the uninterrupted run");
    }

    [Fact]
    public async Task Train_Should_KeepLocalCheckpointAndReportNotUploaded_When_SigtermedWhileStorageIsDown()
    {
        await using var server = await S3rverServer.StartAsync();
        using var run = new TrainerRun();
        var uri = $"s3://{S3rverServer.Bucket}/down";
        using var trainer = TrainerProcess.Start(run.Args("--checkpoint-uri", uri, "--shutdown-timeout-seconds", "2"), Environment(server));
        await trainer.WaitForGlobalStepAsync(TrainerRun.CheckpointEvery + 5, Deadline);
        await server.StopAsync();
        var stoppedAt = trainer.LastGlobalStep;
        await trainer.WaitForGlobalStepAsync(stoppedAt + 2 * TrainerRun.CheckpointEvery, Deadline);
        trainer.SendSigterm();
        var code = await trainer.WaitForExitAsync(Deadline);

        Assert.True(code == ExitCodes.Resumable, $"exit {code}\n{trainer.Stdout}\n{trainer.Stderr}");
        var report = run.ReadTerminationReport();
        Assert.Equal(TerminationReport.Preempted, report.Status);
        Assert.False(report.CheckpointUploaded, report.ToString());
        var local = Path.Combine(run.CheckpointDirectory, $"step-{report.GlobalStep:D12}");
        Assert.Equal(local, report.Checkpoint);
        Assert.True(File.Exists(Path.Combine(local, "manifest.json")), "the local checkpoint is kept");
        Assert.Contains("backlog", trainer.Stdout + trainer.Stderr, StringComparison.Ordinal);

        // Storage back, same node: the local checkpoint is newer than anything remote and training resumes from it.
        await server.StartAgainAsync();
        var (finalCode, final) = await TrainerProcess.RunAsync(run.Args("--checkpoint-uri", uri), Environment(server));
        using (final)
        {
            Assert.True(finalCode == ExitCodes.Completed, $"exit {finalCode}\n{final.Stdout}\n{final.Stderr}");
            Assert.Equal(report.GlobalStep, TrainerRun.ResumedGlobalStep(final.Stdout));
        }
        var weights = await File.ReadAllBytesAsync(run.Output);
        Assert.True(reference.FinalWeights.SequenceEqual(weights), "final weights differ from the uninterrupted run");
    }

    [Theory]
    [InlineData("uri without scheme", "k8straining/no-scheme", null, "s3://bucket/prefix")]
    [InlineData("invalid bucket name", "s3://K8sTraining/x", null, "not a valid bucket name")]
    [InlineData("missing bucket", "s3://no-such-bucket/x", null, "does not exist")]
    [InlineData("unknown access key", "s3://k8straining/x", "NOT-A-KEY", "rejected the credentials")]
    public async Task Train_Should_ExitInvalidWithMessage_When_StorageIsMisconfigured(string name, string uri, string? accessKey, string expected)
    {
        _ = name;
        using var run = new TrainerRun();
        var env = Environment(s3.Server);
        if (accessKey is not null)
        {
            env["AWS_ACCESS_KEY_ID"] = accessKey;
        }
        var (code, process) = await TrainerProcess.RunAsync(run.Args("--checkpoint-uri", uri), env);
        using (process)
        {
            Assert.True(code == ExitCodes.Invalid, $"exit {code}\n{process.Stdout}\n{process.Stderr}");
            Assert.Contains(expected, process.Stdout + process.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain(S3rverServer.SecretKey + "\n", process.Stdout + process.Stderr, StringComparison.Ordinal);
        }
        var report = run.ReadTerminationReport();
        Assert.Equal(TerminationReport.Invalid, report.Status);
        Assert.Contains(expected, report.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Train_Should_ExitFailedAfterBoundedRetry_When_StorageIsUnreachableAtStart()
    {
        using var run = new TrainerRun();
        var env = Environment(s3.Server);
        env["AWS_ENDPOINT_URL"] = $"http://127.0.0.1:{S3rverServer.FreePort()}";
        env["CHECKPOINT_S3_STARTUP_TIMEOUT_SECONDS"] = "2";
        var (code, process) = await TrainerProcess.RunAsync(run.Args("--checkpoint-uri", "s3://k8straining/x"), env);
        using (process)
        {
            Assert.True(code == ExitCodes.Failed, $"exit {code}\n{process.Stdout}\n{process.Stderr}");
            Assert.Contains("unreachable", process.Stdout + process.Stderr, StringComparison.Ordinal);
        }
        Assert.Equal(TerminationReport.Failed, run.ReadTerminationReport().Status);
        Assert.False(Directory.Exists(Path.Combine(run.CheckpointDirectory, "step-000000000025")), "training did not start from scratch");
    }
}
