using System.Globalization;
using System.Text.Json;
using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using k8s;
using k8s.Models;
using Xunit.Abstractions;

namespace K8sTraining.Operator.Tests.Integration;

/// <summary>
/// The best checkpoint end to end, with the real trainer, S3 and kubectl: a run with a validation split keeps its best
/// beyond --keep-checkpoints 1, in S3 and in latest.json, and the job shows it in status.best and the wide listing.
/// </summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "Integration")]
public sealed class BestCheckpointTests(ClusterFixture cluster, ITestOutputHelper output)
{
    [Fact]
    public async Task Operator_Should_ShowTheBestInStatusAndTheWideListing_When_RetentionKeepsOnlyTheNewestAndTheBest()
    {
        var ns = await cluster.NewNamespaceWithS3CredentialsAsync("best");
        await using var op = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-best", "--progress-interval-seconds", "1");
        var prefix = $"jobs/{ns}/mnist";
        var uri = $"s3://{S3rverServer.Bucket}/{prefix}";
        var metricsPort = OperatorProcess.FreePort();
        await cluster.CreateJobAsync(new TrainingJob
        {
            Metadata = new V1ObjectMeta { Name = "mnist", NamespaceProperty = ns },
            Spec = new TrainingJobSpec
            {
                // 3,276 training samples (a fifth held out for validation): 103 steps an epoch, 206 in all; the best is
                // measured at each epoch end (step 103, then 206), and is not the newest once a later periodic one commits.
                Training = new TrainingSpec { Model = "mlp", Dataset = "synthetic", Samples = 4096, Epochs = 2, BatchSize = 32, Seed = 7, ValidationFraction = 0.2 },
                Checkpoint = new CheckpointSpec { Uri = uri, SecretName = "s3-credentials", EverySteps = 20, Keep = 1 },
                TerminationGracePeriodSeconds = 30,
                MetricsPort = metricsPort,
                Env =
                [
                    new V1EnvVar { Name = "TRAINER_THREADS", Value = "1" },
                    // About 6 s an epoch: time to read the first best from the running trainer and S3.
                    new V1EnvVar { Name = "K8STRAINING_TEST_STEP_DELAY_MS", Value = "60" },
                ],
            },
        });

        // While the second epoch runs, the trainer exports the first epoch's best (committed to S3) on its /metrics, the
        // gauges the operator reads into status.best (TrainerProgressProbe; a scrape is not timed here, since under load
        // the probe may back off for longer than the run lasts).
        var gauges = (await Eventually.GetAsync(
            () => ScrapeAsync(ns, metricsPort),
            text => text?.Contains("k8straining_trainer_best_global_step{", StringComparison.Ordinal) == true,
            TimeSpan.FromSeconds(120),
            "the best gauges on the running trainer's /metrics"))!;
        var stepLine = gauges.Split('\n').Single(l => l.StartsWith("k8straining_trainer_best_global_step{", StringComparison.Ordinal));
        Assert.Contains("metric=\"val-accuracy\"", stepLine, StringComparison.Ordinal);
        Assert.Contains("weights=\"raw\"", stepLine, StringComparison.Ordinal);
        Assert.Equal("103", stepLine.Split(' ')[1]);
        Assert.Contains(gauges.Split('\n'), l => l.StartsWith("k8straining_trainer_best_value{", StringComparison.Ordinal));

        // In S3, once periodic checkpoints of the second epoch are committed (keep 1): latest.json names the first
        // epoch's best and lists it beside the newest, its objects stay, and the periodic checkpoints between go.
        var during = (await Eventually.GetAsync(
            () => Task.FromResult(Latest(prefix)),
            l => l is { GlobalStep: >= 140 and < 206 },
            TimeSpan.FromSeconds(60),
            "a periodic checkpoint of the second epoch in latest.json"))!;
        Assert.Equal(103, during.Best?.GlobalStep);
        Assert.Equal([during.Checkpoint, CheckpointLayout.DirectoryName(103)], during.Retained);
        Assert.NotNull(ObjectFile($"{prefix}/{CheckpointLayout.DirectoryName(103)}/{CheckpointLayout.ManifestFileName}"));
        await Eventually.GetAsync(
            () => Task.FromResult(ObjectFile($"{prefix}/{CheckpointLayout.DirectoryName(120)}/{CheckpointLayout.ManifestFileName}")),
            file => file is null,
            TimeSpan.FromSeconds(30),
            "retention to delete step 120 (older than the newest, not the best)");
        Assert.NotNull(ObjectFile($"{prefix}/{CheckpointLayout.DirectoryName(103)}/{CheckpointLayout.ManifestFileName}"));

        var done = await cluster.WaitForJobAsync(ns, "mnist", j => j.Status?.Phase == JobPhases.Succeeded, "Succeeded", TimeSpan.FromSeconds(180));
        var best = done.Status!.Best!;
        output.WriteLine($"best: step {best.GlobalStep}, epoch {best.Epoch}, {best.Metric} {best.Value}, {best.Weights}, at {best.Location}");
        Assert.Equal((BestMetricNames.ValidationAccuracy, BestWeightsNames.Raw), (best.Metric, best.Weights));
        Assert.Equal(CheckpointLayout.Location(uri, best.GlobalStep), best.Location);
        Assert.InRange(best.Value, 0.0, 1.0);
        var latest = Latest(prefix)!;
        Assert.Equal(best.GlobalStep, latest.Best?.GlobalStep);
        Assert.NotNull(ObjectFile($"{prefix}/{CheckpointLayout.DirectoryName(best.GlobalStep)}/{CheckpointLayout.ManifestFileName}"));

        // The wide listing prints the BEST column; describe shows status.best.
        var wide = (await cluster.KubectlOkAsync("get", "tj", "mnist", "-n", ns, "-o", "wide")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        output.WriteLine(string.Join('\n', wide));
        var column = wide[0].IndexOf("BEST", StringComparison.Ordinal);
        Assert.True(column >= 0, wide[0]);
        Assert.StartsWith(best.Value.ToString(CultureInfo.InvariantCulture), wide[1][column..], StringComparison.Ordinal);
        Assert.DoesNotContain("BEST", await cluster.KubectlOkAsync("get", "tj", "mnist", "-n", ns), StringComparison.Ordinal);
        var describe = await cluster.KubectlOkAsync("describe", "tj", "mnist", "-n", ns);
        Assert.Contains(best.Location!, describe, StringComparison.Ordinal);
    }

    /// <summary>The running trainer's /metrics, at its pod's own address (the local node gives each pod one).</summary>
    private async Task<string?> ScrapeAsync(string ns, int port)
    {
        try
        {
            var pod = (await cluster.Client.CoreV1.ListNamespacedPodAsync(ns)).Items.FirstOrDefault(p => p.Status?.Phase == "Running" && !string.IsNullOrEmpty(p.Status.PodIP));
            if (pod is null)
            {
                return null;
            }

            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            return await http.GetStringAsync(new Uri($"http://{pod.Status.PodIP}:{port}/metrics"));
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    private LatestPointer? Latest(string prefix)
    {
        try
        {
            return ObjectFile($"{prefix}/{CheckpointLayout.LatestFileName}") is { } file ? JsonSerializer.Deserialize<LatestPointer>(File.ReadAllText(file)) : null;
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            // Being rewritten (s3rver overwrites in place): look again.
            return null;
        }
    }

    /// <summary>The file in which s3rver keeps the object <paramref name="key"/> of the bucket, or null while there is none.</summary>
    private string? ObjectFile(string key)
    {
        var file = Path.Combine(cluster.S3DataDirectory, S3rverServer.Bucket, key + "._S3rver_object");
        return File.Exists(file) ? file : null;
    }
}
