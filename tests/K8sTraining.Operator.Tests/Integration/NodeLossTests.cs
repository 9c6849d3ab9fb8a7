using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Reconciliation;
using k8s;
using k8s.Models;
using Xunit.Abstractions;

namespace K8sTraining.Operator.Tests.Integration;

/// <summary>
/// Issue 12's "Done when", on a two-node local cluster through kubectl, with the real trainer, the real operator and
/// s3rver: a node that vanishes (freeze=kill) under Wait, and a partitioned node whose trainer lives on (freeze=keep)
/// under Replace. Both end byte-identical to an uninterrupted run. Each prints the recovery time it measured.
/// </summary>
[Collection(NodeLossCollection.Name)]
[Trait("Category", "Integration")]
public sealed partial class NodeLossWaitTests(TwoNodeClusterFixture cluster, ITestOutputHelper output) : IClassFixture<TwoNodeClusterFixture>
{
    private const int EverySteps = 40;
    private const long TolerationSeconds = 2;

    [Fact]
    public async Task Operator_Should_ReplaceOnlyOnceTheLostPodIsGone_When_ANodeVanishesUnderWait()
    {
        var e2e = new NodeLossRun(cluster, output);
        var ns = await cluster.NewNamespaceWithS3CredentialsAsync("nl-wait");
        await using var op = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-nl-wait", "--progress-interval-seconds", "1");
        await cluster.CreateJobAsync(NodeLossRun.Job(ns, "mnist", samples: 8192, epochs: 2, EverySteps, s =>
        {
            s.NodeLossPolicy = NodeLossPolicies.Wait;
            s.NodeLossToleranceSeconds = TolerationSeconds;
            // The killed trainer frees its port: the operator reads the live checkpoint, so the replacement's Event names it.
            s.MetricsPort = OperatorProcess.FreePort();
        }));
        using var census = new TrainerCensus(cluster.Client, ns);

        await cluster.WaitForJobAsync(ns, "mnist", j => j.Status?.Phase == JobPhases.Running, "Running", TimeSpan.FromSeconds(120));
        await cluster.WaitForJobAsync(ns, "mnist", j => j.Status?.LastCheckpoint?.GlobalStep >= EverySteps, "a live checkpoint in the status", TimeSpan.FromSeconds(120));
        var node = (await cluster.Client.CoreV1.ReadNamespacedPodAsync("mnist-attempt-1", ns)).Spec.NodeName;
        // Right after a commit, so the steps lost are the ones trained since it.
        await e2e.WaitForCommitAsync($"jobs/{ns}/mnist", TimeSpan.FromSeconds(60));
        using var latest = new LatestWatch(e2e, $"jobs/{ns}/mnist");
        var frozen = DateTimeOffset.UtcNow;
        await cluster.KubectlOkAsync("annotate", "node", node, "localcluster.k8straining.io/freeze=kill");

        // While waiting: NodeLost True names the node, `kubectl get nodes` shows it NotReady, describe shows both.
        var waiting = await cluster.WaitForJobAsync(ns, "mnist", j => Conditions.IsTrue(j.Status?.Conditions, ConditionTypes.NodeLost), "NodeLost=True", TimeSpan.FromSeconds(60));
        var nodeLost = Conditions.Find(waiting.Status!.Conditions, ConditionTypes.NodeLost)!;
        Assert.Contains(node, nodeLost.Message, StringComparison.Ordinal);
        Assert.Contains("nodeLossPolicy Wait", nodeLost.Message, StringComparison.Ordinal);
        // Waiting for the pod to go, or (when pod GC was quick) its replacement created and not yet running.
        Assert.Contains(nodeLost.Reason, new[] { ConditionReasons.WaitingForPodToGo, ConditionReasons.Replacing });
        var describe = await cluster.KubectlOkAsync("describe", "tj", "mnist", "-n", ns);
        output.WriteLine(describe);
        Assert.Contains(ConditionTypes.NodeLost, describe, StringComparison.Ordinal);
        Assert.Contains(node, describe, StringComparison.Ordinal);

        // Replaced within grace + tolerationSeconds + a few seconds, on the other node.
        var replacement = await Eventually.GetAsync(
            async () => (await cluster.PodsAsync(ns)).FirstOrDefault(p => p.Metadata.Name == "mnist-attempt-2"),
            p => p is not null,
            TimeSpan.FromSeconds(90),
            "the replacement pod");
        var created = new DateTimeOffset(DateTime.SpecifyKind(replacement!.Metadata.CreationTimestamp!.Value, DateTimeKind.Utc));
        var bound = TwoNodeClusterFixture.NodeMonitorGracePeriod + TimeSpan.FromSeconds(TolerationSeconds) + TimeSpan.FromSeconds(8);
        Assert.True(created - frozen <= bound, $"replacement created {(created - frozen).TotalSeconds:0.0}s after the freeze (bound {bound.TotalSeconds}s)");
        var running = await e2e.WaitForPodRunningAsync(ns, "mnist-attempt-2", TimeSpan.FromSeconds(90));
        Assert.NotEqual(node, running.Spec.NodeName);
        var recovered = DateTimeOffset.UtcNow;

        var done = await cluster.WaitForJobAsync(ns, "mnist", j => j.Status?.Phase == JobPhases.Succeeded, "Succeeded", TimeSpan.FromSeconds(180));
        census.Dispose();
        Assert.True(census.MaxAliveAtOnce == 1, $"{census.MaxAliveAtOnce} trainers alive at once: {census.Witness}");
        Assert.Equal((1, 0), (done.Status!.Preemptions, done.Status.Restarts));
        Assert.Equal(512, done.Status.Progress?.GlobalStep);

        // Accounting: the lost attempt is a preemption with a node-loss reason; the replacement's Event names the checkpoint.
        var events = (await cluster.EventsAsync(ns)).Where(e => e.InvolvedObject.Name == "mnist").ToList();
        var preempted = Assert.Single(events, e => e.Reason == EventReasons.Preempted);
        output.WriteLine($"Preempted: {preempted.Message}");
        Assert.Matches("DeletionByTaintManager|DeletionByPodGC|NodeLost", preempted.Message);
        Assert.Contains(events, e => e.Reason == EventReasons.NodeLost && e.Message.Contains(node, StringComparison.Ordinal));
        var replaced = Assert.Single(events, e => e.Reason == EventReasons.NodeLossReplacement);
        Assert.Contains("nodeLossPolicy Wait", replaced.Message, StringComparison.Ordinal);
        Assert.Contains($"resumes from s3://k8straining/jobs/{ns}/mnist/step-", replaced.Message, StringComparison.Ordinal);
        Assert.Equal("False", Conditions.Find(done.Status.Conditions, ConditionTypes.NodeLost)?.Status);

        // Nothing durable is lost: attempt 2 resumes from the newest checkpoint attempt 1 committed to S3. The steps lost
        // are those trained since that commit: the checkpoint interval, plus the steps trained while the newest local
        // checkpoint was still uploading when the node vanished (uploads are asynchronous; on a quiet machine, none).
        var lastStep = e2e.LastLoggedStep(ns, "mnist-attempt-1");
        var resumedAt = e2e.ResumedStep(ns, "mnist-attempt-2");
        var newestCommitted = latest.NewestStep.GetValueOrDefault(1);
        Assert.True(newestCommitted >= EverySteps, $"latest.json was seen committed by attempt 1 (newest {newestCommitted})");
        Assert.True(resumedAt >= newestCommitted && lastStep >= resumedAt, $"attempt 1 reached step {lastStep} and committed step {newestCommitted}; attempt 2 resumed at {resumedAt}");

        Assert.Null(done.Status.NodeLoss);
        e2e.Report("Wait, freeze=kill", frozen, waiting.Status.NodeLoss?.Since, created, recovered, lastStep - resumedAt);

        await e2e.AssertSameWeightsAsUninterruptedRunAsync(ns, "mnist", samples: 8192, epochs: 2);
    }
}

[Collection(NodeLossCollection.Name)]
[Trait("Category", "Integration")]
public sealed class NodeLossReplaceTests(TwoNodeClusterFixture cluster, ITestOutputHelper output) : IClassFixture<TwoNodeClusterFixture>
{
    private const int EverySteps = 40;
    private const long ReplaceAfterSeconds = 2;

    [Fact]
    public async Task Operator_Should_ReplaceWhileTheZombieRunsAndFencingRefusesIt_When_ANodeIsPartitionedUnderReplace()
    {
        var e2e = new NodeLossRun(cluster, output);
        var ns = await cluster.NewNamespaceWithS3CredentialsAsync("nl-replace");
        await using var op = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-nl-replace");
        var prefix = $"jobs/{ns}/mnist";
        // No metrics port: the zombie and its replacement share this machine's loopback, and the operator would read
        // one's /metrics for the other.
        await cluster.CreateJobAsync(NodeLossRun.Job(ns, "mnist", samples: 8192, epochs: 4, EverySteps, s =>
        {
            s.NodeLossPolicy = NodeLossPolicies.Replace;
            s.NodeLossReplaceAfterSeconds = ReplaceAfterSeconds;
            s.MetricsPort = 0;
        }));

        await cluster.WaitForJobAsync(ns, "mnist", j => j.Status?.Phase == JobPhases.Running, "Running", TimeSpan.FromSeconds(120));
        var zombie = await cluster.Client.CoreV1.ReadNamespacedPodAsync("mnist-attempt-1", ns);
        var node = zombie.Spec.NodeName;
        await e2e.WaitForCommitAsync(prefix, TimeSpan.FromSeconds(90));
        using var latest = new LatestWatch(e2e, prefix);
        using var nodeLostSeen = new NodeLostWatch(cluster, ns, "mnist");
        var frozen = DateTimeOffset.UtcNow;
        await cluster.KubectlOkAsync("annotate", "node", node, "localcluster.k8straining.io/freeze=keep");

        // The node is lost; after nodeLossReplaceAfterSeconds the replacement starts on the other node.
        await Eventually.GetAsync(async () => await cluster.KubectlOkAsync("get", "nodes", node, "--no-headers"), line => line.Contains("NotReady", StringComparison.Ordinal), TimeSpan.FromSeconds(30), $"kubectl get nodes shows {node} NotReady");
        var replacement = await Eventually.GetAsync(
            async () => (await cluster.PodsAsync(ns)).FirstOrDefault(p => p.Metadata.Name == "mnist-attempt-2"),
            p => p is not null,
            TimeSpan.FromSeconds(60),
            "the replacement pod");
        var created = new DateTimeOffset(DateTime.SpecifyKind(replacement!.Metadata.CreationTimestamp!.Value, DateTimeKind.Utc));
        var bound = TwoNodeClusterFixture.NodeMonitorGracePeriod + TimeSpan.FromSeconds(ReplaceAfterSeconds) + TimeSpan.FromSeconds(8);
        Assert.True(created - frozen <= bound, $"replacement created {(created - frozen).TotalSeconds:0.0}s after the freeze (bound {bound.TotalSeconds}s)");
        // The pod is created before the status naming it is written.
        var replacing = await cluster.WaitForJobAsync(ns, "mnist", j => j.Status?.Attempt == 2, "the status of attempt 2", TimeSpan.FromSeconds(30));
        // The condition said Replace acted (it turns False once the replacement runs, which may be before this read).
        var nodeLost = await Eventually.GetAsync(
            () => Task.FromResult(nodeLostSeen.Seen.FirstOrDefault(c => c.Reason == ConditionReasons.ReplacedUnderReplacePolicy)),
            c => c is not null,
            TimeSpan.FromSeconds(30),
            "NodeLost with reason ReplacedUnderReplacePolicy");
        output.WriteLine($"NodeLost conditions seen: {string.Join(" | ", nodeLostSeen.Seen.Select(c => $"{c.Status}/{c.Reason}"))}");
        Assert.Equal("True", nodeLost!.Status);
        Assert.Contains(node, nodeLost.Message, StringComparison.Ordinal);
        Assert.Contains("nodeLossPolicy Replace", nodeLost.Message, StringComparison.Ordinal);
        var running = await e2e.WaitForPodRunningAsync(ns, "mnist-attempt-2", TimeSpan.FromSeconds(90));
        Assert.NotEqual(node, running.Spec.NodeName);
        var recovered = DateTimeOffset.UtcNow;

        // The zombie kept training behind the partition, until fencing stopped it: exit 76, superseded.
        var zombieDirectory = e2e.PodDirectory(node, ns, zombie);
        var termination = await Eventually.GetAsync(
            () => Task.FromResult(File.Exists(Path.Combine(zombieDirectory, "containers", "trainer", "termination-log")) ? File.ReadAllText(Path.Combine(zombieDirectory, "containers", "trainer", "termination-log")) : ""),
            text => text.Length > 0,
            TimeSpan.FromSeconds(120),
            "the zombie's termination message");
        output.WriteLine($"zombie termination message: {termination}");
        var report = TerminationMessage.TryParse(termination);
        Assert.Equal((TerminationStatuses.Superseded, TerminationReasons.Superseded), (report?.Status, report?.Reason));
        var zombieLog = e2e.Log(ns, "mnist-attempt-1");
        Assert.True(e2e.LastLoggedStep(ns, "mnist-attempt-1") > e2e.ResumedStep(ns, "mnist-attempt-2"), "the zombie trained on after the replacement's resume point");

        var done = await cluster.WaitForJobAsync(ns, "mnist", j => j.Status?.Phase == JobPhases.Succeeded, "Succeeded", TimeSpan.FromSeconds(240));
        latest.Dispose();
        output.WriteLine($"latest.json attempts, in order: {string.Join(",", latest.Attempts)}");
        // Once attempt 2 has committed, latest.json never names attempt 1 again.
        var firstByTwo = latest.Attempts.IndexOf(2);
        Assert.True(firstByTwo >= 0, "attempt 2 committed");
        Assert.DoesNotContain(1, latest.Attempts.Skip(firstByTwo));
        Assert.Equal((1, 0), (done.Status!.Preemptions, done.Status.Restarts));
        var events = (await cluster.EventsAsync(ns)).Where(e => e.InvolvedObject.Name == "mnist").ToList();
        var preempted = Assert.Single(events, e => e.Reason == EventReasons.Preempted);
        output.WriteLine($"Preempted: {preempted.Message}");
        Assert.Contains("nodeLossPolicy Replace", preempted.Message, StringComparison.Ordinal);
        Assert.Contains(events, e => e.Reason == EventReasons.NodeLossReplacement && e.Message.Contains("nodeLossPolicy Replace acted", StringComparison.Ordinal));
        Assert.Contains("superseded by attempt 2", zombieLog, StringComparison.Ordinal);

        e2e.Report("Replace, freeze=keep", frozen, replacing.Status!.NodeLoss?.Since, created, recovered, null);
        await e2e.AssertSameWeightsAsUninterruptedRunAsync(ns, "mnist", samples: 8192, epochs: 4);
    }
}

[CollectionDefinition(Name)]
public sealed class NodeLossCollection
{
    /// <summary>The node-loss tests run one at a time (each on its own two-node cluster): their timings need the CPU.</summary>
    public const string Name = "node loss";
}

/// <summary>What both node-loss tests need: jobs, S3 reads, pod logs and the reference run.</summary>
internal sealed partial class NodeLossRun(TwoNodeClusterFixture cluster, ITestOutputHelper output)
{
    public static TrainingJob Job(string ns, string name, int samples, int epochs, int everySteps, Action<TrainingJobSpec>? change = null)
    {
        var job = new TrainingJob
        {
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
            Spec = new TrainingJobSpec
            {
                Training = new TrainingSpec { Model = "mlp", Dataset = "synthetic", Samples = samples, Epochs = epochs, BatchSize = 32, Seed = 7 },
                Checkpoint = new CheckpointSpec { Uri = $"s3://k8straining/jobs/{ns}/{name}", SecretName = "s3-credentials", EverySteps = everySteps, Keep = 3 },
                TerminationGracePeriodSeconds = 10,
                Env =
                [
                    new V1EnvVar { Name = "TRAINER_THREADS", Value = "1" },
                    // About 30 ms a step: the loss lands mid-run on this tiny model, and the math is unchanged.
                    new V1EnvVar { Name = "K8STRAINING_TEST_STEP_DELAY_MS", Value = "30" },
                    // Every step in the log, so the test knows how far a trainer got before its node was lost.
                    new V1EnvVar { Name = TrainerEnvironment.ForFlag("--log-every-steps"), Value = "1" },
                ],
            },
        };
        change?.Invoke(job.Spec);
        return job;
    }

    /// <summary>The file in which s3rver keeps the object <paramref name="key"/> of the bucket, or null while there is none.</summary>
    public string? ObjectFile(string key)
    {
        var file = Path.Combine(cluster.S3DataDirectory, "k8straining", key + "._S3rver_object");
        return File.Exists(file) ? file : null;
    }

    /// <summary>latest.json of the prefix, or null while there is none (or it is being rewritten).</summary>
    public LatestPointer? Latest(string prefix)
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

    /// <summary>Returns right after latest.json moves to a newer checkpoint.</summary>
    public async Task WaitForCommitAsync(string prefix, TimeSpan timeout)
    {
        var before = await Eventually.GetAsync(() => Task.FromResult(Latest(prefix)), l => l is not null, timeout, $"a first commit under {prefix}");
        await Eventually.GetAsync(() => Task.FromResult(Latest(prefix)), l => l is not null && l.GlobalStep > before!.GlobalStep, timeout, $"a newer commit under {prefix}");
    }

    public async Task<V1Pod> WaitForPodRunningAsync(string ns, string pod, TimeSpan timeout) =>
        (await Eventually.GetAsync(async () => (await cluster.PodsAsync(ns)).FirstOrDefault(p => p.Metadata.Name == pod), p => p is { Status.Phase: "Running" }, timeout, $"{pod} Running"))!;

    /// <summary>The node agent's directory of a pod (its logs and termination file).</summary>
    public string PodDirectory(string node, string ns, V1Pod pod) =>
        Path.Combine(cluster.StateDirectory, "nodes", node, "pods", $"{ns}_{pod.Metadata.Name}_{pod.Metadata.Uid}");

    public string Log(string ns, string pod)
    {
        var file = Directory.EnumerateFiles(Path.Combine(cluster.StateDirectory, "nodes"), "*.log", SearchOption.AllDirectories)
            .Single(f => f.Contains($"{ns}_{pod}_", StringComparison.Ordinal) && TrainerLog().IsMatch(f));
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    public long LastLoggedStep(string ns, string pod) =>
        GlobalStep().Matches(Log(ns, pod)).Select(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).DefaultIfEmpty(0).Max();

    public long ResumedStep(string ns, string pod) =>
        Resumed().Match(Log(ns, pod)) is { Success: true } m ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;

    /// <summary>Runs the same training uninterrupted in the namespace and compares the final weights byte for byte.</summary>
    public async Task AssertSameWeightsAsUninterruptedRunAsync(string ns, string name, int samples, int epochs)
    {
        var steps = samples / 32 * epochs;
        await cluster.CreateJobAsync(Job(ns, "reference", samples, epochs, everySteps: 1000, s => { s.MetricsPort = 0; s.Env = [new V1EnvVar { Name = "TRAINER_THREADS", Value = "1" }]; }));
        await cluster.WaitForJobAsync(ns, "reference", j => j.Status?.Phase is JobPhases.Succeeded or JobPhases.Failed, "the reference run ends", TimeSpan.FromSeconds(180));
        var model = $"{CheckpointLayout.DirectoryName(steps)}/model.bin";
        var interrupted = ObjectFile($"jobs/{ns}/{name}/{model}");
        var reference = ObjectFile($"jobs/{ns}/reference/{model}");
        Assert.True(interrupted is not null && reference is not null, $"final weights {model}: {interrupted} / {reference}");
        var weights = await File.ReadAllBytesAsync(interrupted);
        var expected = await File.ReadAllBytesAsync(reference);
        output.WriteLine($"final weights {model}: {weights.Length} bytes, reference {expected.Length} bytes");
        Assert.True(weights.AsSpan().SequenceEqual(expected), "final weights differ from the uninterrupted run");
    }

    public void Report(string what, DateTimeOffset frozen, DateTime? lossSince, DateTimeOffset created, DateTimeOffset running, long? stepsLost) =>
        output.WriteLine($"RECOVERY {what}: first sign of loss {(lossSince is { } t ? $"{(new DateTimeOffset(DateTime.SpecifyKind(t, DateTimeKind.Utc)) - frozen).TotalSeconds:0.0}s" : "?")}, replacement created {(created - frozen).TotalSeconds:0.0}s, running {(running - frozen).TotalSeconds:0.0}s after the freeze{(stepsLost is { } l ? $"; {l} steps lost" : "")}");

    [GeneratedRegex(@"containers/trainer/\d+\.log$")]
    private static partial Regex TrainerLog();

    [GeneratedRegex(@"\(global (\d+)/")]
    private static partial Regex GlobalStep();

    [GeneratedRegex(@"Resuming at epoch \d+, step \d+ of epoch \(global step (\d+)\)")]
    private static partial Regex Resumed();
}

/// <summary>Polls latest.json every 20 ms and keeps the sequence of attempts that committed it.</summary>
internal sealed class LatestWatch : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public LatestWatch(NodeLossRun run, string prefix)
    {
        _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                if (run.Latest(prefix) is { Attempt: { } attempt } pointer)
                {
                    if (Attempts.Count == 0 || Attempts[^1] != attempt)
                    {
                        Attempts.Add(attempt);
                    }

                    NewestStep[attempt] = Math.Max(NewestStep.GetValueOrDefault(attempt), pointer.GlobalStep);
                }

                try
                {
                    await Task.Delay(20, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        });
    }

    public List<int> Attempts { get; } = [];

    /// <summary>The newest global step each attempt was seen to commit in latest.json.</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<int, long> NewestStep { get; } = new();

    public void Dispose()
    {
        if (!_stop.IsCancellationRequested)
        {
            _stop.Cancel();
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
    }
}

/// <summary>Polls the namespace's trainer pods and remembers the most alive (running or terminating) at once.</summary>
internal sealed class TrainerCensus : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public TrainerCensus(IKubernetes client, string ns)
    {
        _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    var pods = (await client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: WellKnown.JobNameLabel + "=mnist", cancellationToken: _stop.Token)).Items;
                    var alive = pods.Where(p => PodClassifier.StateOf(p) is PodState.Running or PodState.Terminating).Select(p => p.Metadata.Name).ToList();
                    if (alive.Count > MaxAliveAtOnce)
                    {
                        MaxAliveAtOnce = alive.Count;
                        Witness = string.Join(", ", alive);
                    }

                    await Task.Delay(50, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        });
    }

    public int MaxAliveAtOnce { get; private set; }

    public string Witness { get; private set; } = "";

    public void Dispose()
    {
        if (!_stop.IsCancellationRequested)
        {
            _stop.Cancel();
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
    }
}

/// <summary>
/// Polls the TrainingJob every 20 ms from before the node is lost and keeps every distinct NodeLost condition it saw,
/// so a short-lived state (Replace acted, the replacement not yet running) is never missed on a loaded machine.
/// </summary>
internal sealed class NodeLostWatch : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly System.Collections.Concurrent.ConcurrentQueue<V1Condition> _seen = new();

    public NodeLostWatch(TwoNodeClusterFixture cluster, string ns, string name)
    {
        _loop = Task.Run(async () =>
        {
            V1Condition? last = null;
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    var job = await cluster.GetJobAsync(ns, name);
                    if (Conditions.Find(job.Status?.Conditions, ConditionTypes.NodeLost) is { } c
                        && (last is null || (last.Status, last.Reason, last.Message) != (c.Status, c.Reason, c.Message)))
                    {
                        _seen.Enqueue(c);
                        last = c;
                    }

                    await Task.Delay(20, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (k8s.Autorest.HttpOperationException)
                {
                    // A transient API error: poll again.
                }
            }
        });
    }

    /// <summary>Every distinct NodeLost condition, in the order seen.</summary>
    public IReadOnlyList<V1Condition> Seen => [.. _seen];

    public void Dispose()
    {
        if (!_stop.IsCancellationRequested)
        {
            _stop.Cancel();
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
    }
}
