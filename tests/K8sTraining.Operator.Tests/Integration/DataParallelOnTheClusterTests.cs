using System.Globalization;
using System.Text.Json;
using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using k8s;
using k8s.Models;
using Xunit.Abstractions;

namespace K8sTraining.Operator.Tests.Integration;

/// <summary>
/// The Done-when of issue 18 with the real trainer, operator, local cluster (per-pod addresses, headless-Service names)
/// and s3rver: a 2-worker job evicted on one worker mid-epoch checkpoints at one step as a gang, is replaced without
/// ever more pods present than workers, and ends byte-identical to an uninterrupted 2-worker run; and a job resumed at
/// 2, then 1, then 2 workers sees every sample of every epoch exactly once.
/// </summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "Integration")]
public sealed class DataParallelOnTheClusterTests(ClusterFixture cluster, ITestOutputHelper output)
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(150);

    /// <summary>1024 samples in global batches of 2 x 16: 32 steps an epoch, 100 ms each so an eviction lands mid-epoch.</summary>
    private static TrainingJob Job(string ns, string name, int workers, int epochs, params (string Name, string Value)[] env) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Spec = new TrainingJobSpec
        {
            Workers = workers,
            Training = new TrainingSpec { Model = ModelNames.Mlp, Dataset = DatasetNames.Synthetic, Samples = 1024, Epochs = epochs, BatchSize = 16, Seed = 7 },
            Checkpoint = new CheckpointSpec { Uri = $"s3://{S3rverServer.Bucket}/jobs/{ns}/{name}", SecretName = "s3-credentials", EverySteps = 8, Keep = 3 },
            TerminationGracePeriodSeconds = 30,
            MetricsPort = 0,
            Env = [new V1EnvVar { Name = "TRAINER_THREADS", Value = "1" }, .. env.Select(e => new V1EnvVar { Name = e.Name, Value = e.Value })],
        },
    };

    [Fact]
    public async Task Operator_Should_ReplaceTheGangAtOneStepAndEndWithTheUninterruptedBytes_When_OneWorkerIsEvictedMidEpoch()
    {
        var ns = await cluster.NewNamespaceWithS3CredentialsAsync("ddp-evict");
        await using var op = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-ddp-evict");
        await cluster.CreateJobAsync(Job(ns, "ddp", 2, 1, ("K8STRAINING_TEST_STEP_DELAY_MS", "100")));
        // The uninterrupted 2-worker run, beside it (the same training; another checkpoint prefix).
        await cluster.CreateJobAsync(Job(ns, "reference", 2, 1));
        using var present = new PodCensus(cluster.Client, ns, p => p.Metadata.Labels is { } labels && labels.TryGetValue(WellKnown.JobNameLabel, out var job) && job == "ddp");

        await cluster.WaitForJobAsync(ns, "ddp", j => j.Status?.Phase == JobPhases.Running, "Running with both workers", Long);
        var first = await Eventually.GetAsync(() => Task.FromResult(Latest($"jobs/{ns}/ddp")), l => l is not null, Long, "a first committed checkpoint");
        await cluster.Client.CoreV1.CreateNamespacedPodEvictionAsync(new V1Eviction { Metadata = new V1ObjectMeta { Name = "ddp-attempt-1-worker-1", NamespaceProperty = ns } }, "ddp-attempt-1-worker-1", ns);

        var replaced = await cluster.WaitForJobAsync(ns, "ddp", j => j.Status is { Attempt: 2, Preemptions: 1 }, "the whole gang replaced", Long);
        var resume = replaced.Status!.ResumeFrom!;
        Assert.True(resume.GlobalStep >= first!.GlobalStep && resume.GlobalStep < 32, $"resume point {resume.GlobalStep}");
        Assert.Equal(0, replaced.Status.Restarts);
        var done = await cluster.WaitForJobAsync(ns, "ddp", j => j.Status?.Phase is JobPhases.Succeeded or JobPhases.Failed, "the end", Long);
        Assert.True(done.Status!.Phase == JobPhases.Succeeded, $"{done.Status.Phase}: {done.Status.LastTermination?.Message}");
        Assert.Equal((32L, 1, 0), (done.Status.Progress?.GlobalStep, done.Status.Preemptions, done.Status.Restarts));

        // Both workers of attempt 1 stopped at the same step (exit 75, one checkpoint), and both of attempt 2 resumed there.
        foreach (var rank in new[] { 0, 1 })
        {
            Assert.Contains($"(global step {resume.GlobalStep})", ReadLog(ns, $"ddp-attempt-2-worker-{rank}"), StringComparison.Ordinal);
        }

        Assert.True(present.MaxAliveAtOnce <= 2, $"{present.MaxAliveAtOnce} pods of the 2-worker job were present at once");
        await cluster.WaitForJobAsync(ns, "reference", j => j.Status?.Phase is JobPhases.Succeeded or JobPhases.Failed, "the reference run ends", Long);
        var model = $"{CheckpointLayout.DirectoryName(32)}/model.bin";
        var weights = await File.ReadAllBytesAsync(ObjectFile($"jobs/{ns}/ddp/{model}") ?? throw new InvalidOperationException($"no {model} of the evicted run"));
        var expected = await File.ReadAllBytesAsync(ObjectFile($"jobs/{ns}/reference/{model}") ?? throw new InvalidOperationException($"no {model} of the reference run"));
        output.WriteLine($"resumed at global step {resume.GlobalStep}; final weights {weights.Length} bytes; most pods present at once: {present.MaxAliveAtOnce}");
        Assert.True(weights.AsSpan().SequenceEqual(expected), "the evicted 2-worker run ended with other weights than the uninterrupted one");
    }

    [Fact]
    public async Task Operator_Should_SeeEverySampleOncePerEpoch_When_TheJobResumesAtTwoThenOneThenTwoWorkers()
    {
        var ns = await cluster.NewNamespaceWithS3CredentialsAsync("ddp-elastic");
        await using var op = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-ddp-elastic");
        var trace = Path.Combine(cluster.StateDirectory, $"{ns}-samples.txt");
        var prefix = $"jobs/{ns}/elastic";
        await cluster.CreateJobAsync(Job(ns, "elastic", 2, 2, ("K8STRAINING_TEST_STEP_DELAY_MS", "100"), ("K8STRAINING_TEST_SAMPLE_TRACE", trace)));

        // 2 workers, evicted after a commit; the edit to 1 worker applies to the next attempt.
        await cluster.WaitForJobAsync(ns, "elastic", j => j.Status?.Phase == JobPhases.Running, "attempt 1 Running", Long);
        var committed = await Eventually.GetAsync(() => Task.FromResult(Latest(prefix)), l => l is not null, Long, "a first commit at 2 workers");
        await cluster.KubectlOkAsync("patch", "tj", "elastic", "-n", ns, "--type", "merge", "-p", """{"spec":{"workers":1}}""");
        Assert.Equal(1, (await cluster.GetJobAsync(ns, "elastic")).Status!.Attempt);
        await EvictAsync(ns, "elastic-attempt-1-worker-1");

        // 1 worker, evicted after a newer commit; then 2 again.
        await cluster.WaitForJobAsync(ns, "elastic", j => j.Status is { Attempt: 2, Phase: JobPhases.Running }, "attempt 2 Running with one worker", Long);
        Assert.Equal(["elastic-attempt-2"], (await cluster.PodsAsync(ns)).Select(p => p.Metadata.Name));
        await Eventually.GetAsync(() => Task.FromResult(Latest(prefix)), l => l is { Attempt: 2 }, Long, "a commit at 1 worker");
        await cluster.KubectlOkAsync("patch", "tj", "elastic", "-n", ns, "--type", "merge", "-p", """{"spec":{"workers":2}}""");
        await EvictAsync(ns, "elastic-attempt-2");

        var done = await cluster.WaitForJobAsync(ns, "elastic", j => j.Status?.Phase is JobPhases.Succeeded or JobPhases.Failed, "the end", Long);
        Assert.True(done.Status!.Phase == JobPhases.Succeeded, $"{done.Status.Phase}: {done.Status.LastTermination?.Message}");
        Assert.Equal((3, 2, 0), (done.Status.Attempt, done.Status.Preemptions, done.Status.Restarts));
        Assert.Equal("2", (await cluster.Client.CoreV1.ReadNamespacedPodAsync("elastic-attempt-3-worker-1", ns)).Spec.Containers.Single().Env.Single(e => e.Name == DistributedEnvironment.WorldSize).Value);
        var seen = File.ReadAllLines(trace)
            .Select(l => l.Split(':'))
            .GroupBy(p => int.Parse(p[0], CultureInfo.InvariantCulture), p => p[1].Split(',').Select(i => int.Parse(i, CultureInfo.InvariantCulture)))
            .ToDictionary(g => g.Key, g => g.SelectMany(x => x).Order().ToList());
        output.WriteLine($"first commit at global step {committed!.GlobalStep}; epochs traced: {string.Join(", ", seen.Select(e => $"{e.Key}: {e.Value.Count} samples"))}");
        Assert.Equal([0, 1], seen.Keys.Order());
        Assert.All(seen, e => Assert.True(Enumerable.Range(0, 1024).SequenceEqual(e.Value), $"epoch {e.Key} saw {e.Value.Count} samples, not each of 1024 once"));
    }

    private string ReadLog(string ns, string pod)
    {
        using var stream = new FileStream(cluster.TrainerLogPath(ns, pod), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private Task EvictAsync(string ns, string pod) =>
        cluster.Client.CoreV1.CreateNamespacedPodEvictionAsync(new V1Eviction { Metadata = new V1ObjectMeta { Name = pod, NamespaceProperty = ns } }, pod, ns);

    /// <summary>The file in which s3rver keeps the object <paramref name="key"/> of the bucket, or null while there is none.</summary>
    private string? ObjectFile(string key)
    {
        var file = Path.Combine(cluster.S3DataDirectory, S3rverServer.Bucket, key + "._S3rver_object");
        return File.Exists(file) ? file : null;
    }

    /// <summary>latest.json of the prefix, or null while there is none (or it is being rewritten).</summary>
    private LatestPointer? Latest(string prefix)
    {
        try
        {
            return ObjectFile($"{prefix}/{CheckpointLayout.LatestFileName}") is { } file ? JsonSerializer.Deserialize<LatestPointer>(File.ReadAllText(file)) : null;
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            return null;
        }
    }
}
