using System.Globalization;
using System.Text.Json;
using K8sTraining.Metrics.Tests.Support;

namespace K8sTraining.Metrics.Tests.Scrape;

/// <summary>
/// The published trainer as a real process, scraped every second by a real Prometheus while it trains with local and
/// S3 (s3rver) checkpoints, is stopped by SIGTERM, and resumes.
/// </summary>
[Trait("Category", "Integration")]
public sealed class TrainerScrapeTests
{
    private const string Namespace = "team-a";
    private const string Job = "mnist-run";
    private const string Selector = $"{{job_namespace=\"{Namespace}\",job_name=\"{Job}\"}}";

    [Fact]
    public async Task Trainer_Should_ExportEveryDocumentedMetricAndItsFinalPosition_When_ScrapedThroughAStopAndAResume()
    {
        var dll = RepositoryPaths.Published("trainer", "K8sTraining.Trainer.dll");
        var work = Directory.CreateTempSubdirectory("k8straining-metrics-trainer-").FullName;
        try
        {
            await using var s3 = await S3rverServer.StartAsync();
            var port = FreePort.Next();
            await using var prometheus = await PrometheusServer.StartAsync([("trainer", $"127.0.0.1:{port}")]);
            var env = new Dictionary<string, string>(s3.AwsEnvironment)
            {
                ["TRAINER_JOB_NAMESPACE"] = Namespace,
                ["TRAINER_JOB_NAME"] = Job,
                // Slows each step so that Prometheus sees the run progress at a 1 s interval.
                ["K8STRAINING_TEST_STEP_DELAY_MS"] = "25",
            };
            string[] Args(string log) =>
            [
                // A validation split, so the best validation accuracy is exported too.
                dll, "train", "--model", "mlp", "--dataset", "synthetic", "--samples", "512", "--val-fraction", "0.25", "--batch-size", "64", "--epochs", "1000",
                "--seed", "7", "--threads", "1", "--checkpoint-dir", Path.Combine(work, "checkpoints"), "--checkpoint-every-steps", "4",
                "--checkpoint-uri", $"s3://{S3rverServer.Bucket}/metrics-tests/{Guid.NewGuid():N}", "--metrics-port", port.ToString(CultureInfo.InvariantCulture),
                "--termination-log", Path.Combine(work, log), "--progress", "log",
            ];

            // First attempt: train past an epoch (accuracy) and a few uploaded checkpoints, then stop it as a preemption does.
            var first = await RunUntilStoppedAsync(prometheus, Args("first.json"), env, Path.Combine(work, "first.json"), "k8straining_trainer_checkpoint_upload_seconds_count" + Selector, minimumStep: 20);
            Assert.Equal("preempted", first.Status);
            await AssertPrometheusHoldsFinalPositionAsync(prometheus, first);
            Assert.Equal(0, await LatestAsync(prometheus, "last_over_time(k8straining_trainer_resumes_total" + Selector + "[5m])"));

            // Second attempt resumes from the checkpoint: the resume is counted and the step continues, never from 0.
            var second = await RunUntilStoppedAsync(prometheus, Args("second.json"), env, Path.Combine(work, "second.json"), "k8straining_trainer_global_step" + Selector, minimumStep: first.GlobalStep + 8);
            Assert.True(second.GlobalStep > first.GlobalStep, $"resumed at {second.GlobalStep}, stopped before at {first.GlobalStep}");
            await AssertPrometheusHoldsFinalPositionAsync(prometheus, second);
            Assert.Equal(1, await LatestAsync(prometheus, "last_over_time(k8straining_trainer_resumes_total" + Selector + "[5m])"));

            var series = await prometheus.SeriesAsync("k8straining_.*");
            var documented = MetricsDoc.Metrics().Where(m => m.Name.StartsWith("k8straining_trainer_", StringComparison.Ordinal)).ToList();
            Assert.NotEmpty(documented);
            MetricAssertions.AllExportedWithDocumentedLabels(documented, series);
            MetricAssertions.NoneUndocumented(documented, series, "k8straining_trainer_");
            Assert.All(series, s => Assert.All(s.Values, v => Assert.DoesNotContain(S3rverServer.AccessKey, v, StringComparison.Ordinal)));
            Assert.All(series.Where(s => s["__name__"] == "k8straining_trainer_global_step"), s =>
            {
                Assert.Equal(Namespace, s["job_namespace"]);
                Assert.Equal(Job, s["job_name"]);
            });

            // Values that mean something: a real accuracy, checkpoints of a real size, an empty backlog after the flush.
            var accuracy = await LatestAsync(prometheus, "last_over_time(k8straining_trainer_validation_accuracy" + Selector + "[5m])");
            Assert.InRange(accuracy, 0.0, 1.0);
            Assert.True(await LatestAsync(prometheus, "last_over_time(k8straining_trainer_checkpoint_size_bytes" + Selector + "[5m])") > 1000);
            Assert.True(await LatestAsync(prometheus, "last_over_time(k8straining_trainer_process_memory_bytes" + Selector + "[5m])") > 10_000_000);
            Assert.Equal(0, await LatestAsync(prometheus, "last_over_time(k8straining_trainer_upload_backlog" + Selector + "[5m])"));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private sealed record Report(string Status, long GlobalStep, int Epoch);

    private sealed record Position(double Step, double Epoch);

    private static async Task<Report> RunUntilStoppedAsync(PrometheusServer prometheus, string[] args, IReadOnlyDictionary<string, string> env, string log, string readyQuery, long minimumStep)
    {
        var started = DateTime.UtcNow;
        await using var trainer = ChildProcess.Start("dotnet", args, env);
        try
        {
            // The trainer learns the scrape interval from the scrapes it has served and waits for one last scrape on
            // shutdown only once it knows it: let Prometheus scrape this attempt a few times before stopping it.
            await Eventually.GetAsync(
                async () => (
                    Step: await LatestOrNullAsync(prometheus, "k8straining_trainer_global_step" + Selector),
                    Ready: await LatestOrNullAsync(prometheus, readyQuery),
                    Scrapes: await LatestOrNullAsync(prometheus, $"count_over_time(k8straining_trainer_global_step{Selector}[{Math.Max(1, (int)(DateTime.UtcNow - started).TotalSeconds)}s])")),
                r => trainer.Process.HasExited || (r.Step >= minimumStep && r.Ready > 0 && r.Scrapes >= 3),
                TimeSpan.FromSeconds(120),
                $"Prometheus to see global step {minimumStep} and {readyQuery}");
            Assert.False(trainer.Process.HasExited, $"the trainer exited early:\n{trainer.Output}");
            trainer.SendSigterm();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await trainer.Process.WaitForExitAsync(timeout.Token);
            Assert.True(trainer.Process.ExitCode == 75, $"exit {trainer.Process.ExitCode}:\n{trainer.Output}");
        }
        catch
        {
            Console.Error.WriteLine(trainer.Output);
            throw;
        }

        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(log));
        var root = json.RootElement;
        return new Report(root.GetProperty("status").GetString()!, root.GetProperty("globalStep").GetInt64(), root.GetProperty("epoch").GetInt32());
    }

    /// <summary>The trainer waits for a last scrape on shutdown: Prometheus's last values are the termination report's.</summary>
    private static async Task AssertPrometheusHoldsFinalPositionAsync(PrometheusServer prometheus, Report report)
    {
        // Prometheus appends a scraped sample a moment after the response arrives, which can be after the trainer exits:
        // poll briefly for the final scrape to become queryable.
        var (step, epoch) = await Eventually.GetAsync(
            async () => new Position(
                await LatestAsync(prometheus, "last_over_time(k8straining_trainer_global_step" + Selector + "[5m])"),
                await LatestAsync(prometheus, "last_over_time(k8straining_trainer_epoch" + Selector + "[5m])")),
            r => (long)r.Step == report.GlobalStep && (int)r.Epoch == report.Epoch,
            TimeSpan.FromSeconds(5),
            $"Prometheus to hold the final position (global step {report.GlobalStep}, epoch {report.Epoch})");

        Assert.Equal(report.GlobalStep, (long)step);
        Assert.Equal(report.Epoch, (int)epoch);
    }

    private static async Task<double> LatestAsync(PrometheusServer prometheus, string query) =>
        await LatestOrNullAsync(prometheus, query) ?? throw new Xunit.Sdk.XunitException($"no data for {query}");

    private static async Task<double?> LatestOrNullAsync(PrometheusServer prometheus, string query)
    {
        var samples = await prometheus.QueryAsync(query);
        return samples.Count == 0 ? null : samples.Max(s => s.Value);
    }
}
