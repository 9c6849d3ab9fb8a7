using K8sTraining.Contract;
using K8sTraining.Training.Hosting;
using K8sTraining.Trainer.Tests.Integration;
using K8sTraining.Trainer.Tests.Support;
using Xunit.Abstractions;

namespace K8sTraining.Trainer.Tests.Storage;

/// <summary>
/// The real trainer with --checkpoint-uri against a real s3rver: preempted runs on "fresh nodes" (local directory wiped)
/// resume from S3 and end byte-identical to an uninterrupted run.
/// </summary>
[Collection(TrainerProcessCollection.Name)]
[Trait("Category", "Integration")]
public sealed class S3ResumeTests(ReferenceRunFixture reference, S3rverFixture s3, ITestOutputHelper testOutput) : IClassFixture<ReferenceRunFixture>, IClassFixture<S3rverFixture>
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
        var random = TestSeed.Create(testOutput);
        var targets = Enumerable.Range(0, 3).Select(_ => (long)random.Next(30, TrainerRun.TotalSteps - 128)).Order().ToArray();
        long previousStop = 0;
        foreach (var target in targets)
        {
            using var trainer = TrainerProcess.Start(run.Args("--checkpoint-uri", uri), env);
            await trainer.WaitForGlobalStepAsync(Math.Max(target, previousStop + 1), Deadline);
            trainer.SendSigterm();
            var code = await trainer.WaitForExitAsync(Deadline);

            Assert.True(code == TrainerExitCodes.Interrupted, $"exit {code}\n{trainer.Stdout}\n{trainer.Stderr}");
            var report = run.ReadTerminationReport();
            Assert.Equal(TerminationStatuses.Preempted, report.Status);
            Assert.True(report.CheckpointUploaded, $"not uploaded: {report}\n{trainer.Stdout}");
            Assert.Equal($"{uri}/step-{report.GlobalStep:D12}", report.Checkpoint);
            Assert.True(report.GlobalStep > previousStop, $"stopped at {report.GlobalStep}, previous stop {previousStop}");
            if (previousStop > 0)
            {
                Assert.Equal(previousStop, TrainerRun.ResumedGlobalStep(trainer.Stdout));
            }
            previousStop = report.GlobalStep!.Value;

            // The next pod lands on another node: nothing local survives.
            Directory.Delete(run.CheckpointDirectory, recursive: true);
        }

        var (finalCode, final) = await TrainerProcess.RunAsync(run.Args("--checkpoint-uri", uri), env);
        using (final)
        {
            Assert.True(finalCode == TrainerExitCodes.Completed, $"exit {finalCode}\n{final.Stdout}\n{final.Stderr}");
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

        Assert.True(code == TrainerExitCodes.Interrupted, $"exit {code}\n{trainer.Stdout}\n{trainer.Stderr}");
        var report = run.ReadTerminationReport();
        Assert.Equal(TerminationStatuses.Preempted, report.Status);
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
            Assert.True(finalCode == TrainerExitCodes.Completed, $"exit {finalCode}\n{final.Stdout}\n{final.Stderr}");
            Assert.Equal(report.GlobalStep, TrainerRun.ResumedGlobalStep(final.Stdout));
        }
        var completed = run.ReadTerminationReport();
        Assert.Equal(new ResumePoint(report.GlobalStep!.Value, report.Epoch!.Value, report.StepInEpoch!.Value, local), completed.ResumedFrom);
        Assert.Equal(($"{uri}/step-{TrainerRun.TotalSteps:D12}", true), (completed.Checkpoint, completed.CheckpointUploaded));
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
            Assert.True(code == TrainerExitCodes.InvalidConfiguration, $"exit {code}\n{process.Stdout}\n{process.Stderr}");
            Assert.Contains(expected, process.Stdout + process.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain(S3rverServer.SecretKey + "\n", process.Stdout + process.Stderr, StringComparison.Ordinal);
        }
        var report = run.ReadTerminationReport();
        Assert.Equal(TerminationStatuses.Invalid, report.Status);
        Assert.Equal(TerminationReasons.InvalidConfiguration, report.Reason);
        Assert.Contains(expected, report.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("closed port")]
    [InlineData("stopped s3rver")]
    public async Task Train_Should_ExitStorageUnavailableAfterTheStartupBudget_When_StorageIsUnreachableAtStart(string outage)
    {
        using var run = new TrainerRun();
        await using var own = await S3rverServer.StartAsync();
        var env = Environment(own);
        if (outage == "closed port")
        {
            env["AWS_ENDPOINT_URL"] = $"http://127.0.0.1:{S3rverServer.FreePort()}";
        }
        else
        {
            await own.StopAsync();
        }
        env["CHECKPOINT_S3_STARTUP_TIMEOUT_SECONDS"] = "2";
        var started = DateTime.UtcNow;
        var (code, process) = await TrainerProcess.RunAsync(run.Args("--checkpoint-uri", "s3://k8straining/x"), env);
        var waited = DateTime.UtcNow - started;
        using (process)
        {
            Assert.True(code == TrainerExitCodes.StorageUnavailable, $"exit {code}\n{process.Stdout}\n{process.Stderr}");
            Assert.Contains("unreachable", process.Stdout + process.Stderr, StringComparison.Ordinal);
        }
        Assert.True(waited >= TimeSpan.FromSeconds(2), $"gave up after {waited.TotalSeconds:0.0} s, before the 2 s start-up budget");
        var report = run.ReadTerminationReport();
        Assert.Equal((TerminationStatuses.Failed, TerminationReasons.StorageUnavailable), (report.Status, report.Reason));
        Assert.Contains("CHECKPOINT_S3_STARTUP_TIMEOUT_SECONDS", report.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(run.CheckpointDirectory, "step-000000000025")), "training did not start from scratch");
    }

    // The dead pod's path: a replacement that restored step N from S3 and was stopped before its first step reported
    // its own emptyDir path as the checkpoint, "uploaded". It must name the remote checkpoint it resumed from.
    [Fact]
    public async Task Train_Should_ReportTheRemoteCheckpointAndWhereItResumed_When_StoppedBeforeItsFirstStep()
    {
        using var run = new TrainerRun();
        var uri = $"s3://{S3rverServer.Bucket}/early/{Guid.NewGuid():N}";
        var env = Environment(s3.Server);
        var port = S3rverServer.FreePort();
        long stoppedAt;
        using (var first = TrainerProcess.Start(run.Args("--checkpoint-uri", uri, "--metrics-port", $"{port}"), env))
        {
            await first.WaitForGlobalStepAsync(30, Deadline);
            Assert.Equal((0, 0, 0), await ResumedFromGaugesAsync(port));
            first.SendSigterm();
            Assert.Equal(TrainerExitCodes.Interrupted, await first.WaitForExitAsync(Deadline));
            var report = run.ReadTerminationReport();
            Assert.Null(report.ResumedFrom);
            stoppedAt = report.GlobalStep!.Value;
        }
        Directory.Delete(run.CheckpointDirectory, recursive: true);

        var waitBeforeFirstStep = new Dictionary<string, string>(env) { ["K8STRAINING_TEST_START_DELAY_MS"] = "60000" };
        using (var replacement = TrainerProcess.Start(run.Args("--checkpoint-uri", uri, "--metrics-port", $"{port}"), waitBeforeFirstStep))
        {
            await Eventually.TrueAsync(() => TrainerRun.ResumedGlobalStep(replacement.Stdout) is not null, Deadline, "the replacement resumes");
            var (step, epoch, stepInEpoch) = await ResumedFromGaugesAsync(port);
            Assert.Equal(stoppedAt, step);
            replacement.SendSigterm();
            var code = await replacement.WaitForExitAsync(Deadline);
            Assert.True(code == TrainerExitCodes.Interrupted, $"exit {code}\n{replacement.Stdout}\n{replacement.Stderr}");

            var report = run.ReadTerminationReport();
            var remote = $"{uri}/step-{stoppedAt:D12}";
            Assert.Equal((stoppedAt, remote, true), (report.GlobalStep, report.Checkpoint, report.CheckpointUploaded));
            Assert.Equal(new ResumePoint(stoppedAt, (int)epoch, (int)stepInEpoch, remote), report.ResumedFrom);
            Assert.Equal((report.Epoch, report.StepInEpoch), ((int)epoch, (int)stepInEpoch));
        }
    }

    [Fact]
    public async Task Train_Should_ExitInvalidNamingTheOwner_When_AnotherJobsCheckpointsAreAtThePrefixUnlessAdopted()
    {
        var uri = $"s3://{S3rverServer.Bucket}/owned/{Guid.NewGuid():N}";
        var env = Environment(s3.Server);
        env.Remove("K8STRAINING_TEST_STEP_DELAY_MS");
        using (var previous = new TrainerRun())
        {
            var first = new Dictionary<string, string>(env) { ["TRAINER_JOB_UID"] = "uid-deleted-job", ["TRAINER_JOB_NAMESPACE"] = "ml", ["TRAINER_JOB_NAME"] = "fashion" };
            var (code, process) = await TrainerProcess.RunAsync(previous.Args("--checkpoint-uri", uri, "--epochs", "1"), first);
            using (process)
            {
                Assert.True(code == TrainerExitCodes.Completed, $"exit {code}\n{process.Stdout}\n{process.Stderr}");
            }
        }

        using var run = new TrainerRun();
        var second = new Dictionary<string, string>(env) { ["TRAINER_JOB_UID"] = "uid-new-job", ["TRAINER_JOB_NAMESPACE"] = "ml", ["TRAINER_JOB_NAME"] = "fashion" };
        var (refused, refusedProcess) = await TrainerProcess.RunAsync(run.Args("--checkpoint-uri", uri, "--epochs", "1"), second);
        using (refusedProcess)
        {
            Assert.True(refused == TrainerExitCodes.InvalidConfiguration, $"exit {refused}\n{refusedProcess.Stdout}\n{refusedProcess.Stderr}");
            Assert.Null(TrainerRun.ResumedGlobalStep(refusedProcess.Stdout));
        }
        var report = run.ReadTerminationReport();
        Assert.Equal((TerminationStatuses.Invalid, TerminationReasons.CheckpointPrefixInUse), (report.Status, report.Reason));
        Assert.Contains(uri, report.Message, StringComparison.Ordinal);
        Assert.Contains("ml/fashion (uid uid-deleted-job", report.Message, StringComparison.Ordinal);
        Assert.Contains("spec.checkpoint.adopt: true", report.Message, StringComparison.Ordinal);
        Assert.Equal(0, report.GlobalStep);
        Assert.False(File.Exists(run.Output), "it did not train");

        second["TRAINER_CHECKPOINT_ADOPT"] = "true";
        var (adopted, adoptedProcess) = await TrainerProcess.RunAsync(run.Args("--checkpoint-uri", uri, "--epochs", "1"), second);
        using (adoptedProcess)
        {
            Assert.True(adopted == TrainerExitCodes.Completed, $"exit {adopted}\n{adoptedProcess.Stdout}\n{adoptedProcess.Stderr}");
            Assert.Equal(TrainerRun.TotalSteps / 2, TrainerRun.ResumedGlobalStep(adoptedProcess.Stdout));
        }
    }

    private static async Task<(long GlobalStep, long Epoch, long StepInEpoch)> ResumedFromGaugesAsync(int port)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        (long, long, long)? found = null;
        string text = "";
        await Eventually.TrueAsync(() =>
        {
            try
            {
                text = http.GetStringAsync($"http://127.0.0.1:{port}/metrics").GetAwaiter().GetResult();
            }
            catch (HttpRequestException)
            {
                return false;
            }
            long? Gauge(string name)
            {
                var m = System.Text.RegularExpressions.Regex.Match(text, $@"^{name}\{{[^}}]*\}} (\S+)", System.Text.RegularExpressions.RegexOptions.Multiline);
                return m.Success ? (long)double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : null;
            }
            if (Gauge("k8straining_trainer_resumed_from_global_step") is { } g && Gauge("k8straining_trainer_resumed_from_epoch") is { } e && Gauge("k8straining_trainer_resumed_from_step_in_epoch") is { } s)
            {
                found = (g, e, s);
            }
            return found is not null;
        }, Deadline, "the resumed_from gauges on /metrics");
        return found!.Value;
    }
}
