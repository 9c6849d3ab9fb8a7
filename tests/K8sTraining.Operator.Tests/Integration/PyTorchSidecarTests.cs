using System.Globalization;
using System.Text.RegularExpressions;
using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Pods;
using K8sTraining.Operator.Runtime;
using k8s;
using k8s.Models;
using Xunit.Abstractions;

namespace K8sTraining.Operator.Tests.Integration;

/// <summary>
/// Issue 17's Done-when on the local cluster, through the operator: examples/pytorch/trainingjob.yaml as written (only
/// its size, namespace and URI changed) applied with the real kubectl; plain PyTorch (train.py, Debian's python3-torch)
/// made durable by the checkpoint-sync native sidecar. The pod is evicted mid-run; the replacement starts on an empty
/// checkpoint directory, the sidecar restores the committed checkpoint from s3rver before the trainer starts, the trainer
/// resumes at exactly that step, and the job ends with the same final weights, byte for byte, as an uninterrupted job of
/// the same spec. The status shows the committed position (read by the progress probe from the sidecar's metrics port)
/// throughout both attempts.
/// </summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "Integration")]
public sealed partial class PyTorchSidecarTests(ClusterFixture cluster, ITestOutputHelper output)
{
    private const string Job = "pytorch-fashion-mnist";

    // The size knobs: 2048 samples of batch 64 are 32 steps an epoch; 3 epochs (as the example) are 96 steps.
    private const int Samples = 2048;
    private const int EverySteps = 10;
    private const long StepsPerEpoch = Samples / 64;
    private const long FinalStep = 3 * StepsPerEpoch;

    [Fact]
    public async Task Operator_Should_RestoreThePyTorchExampleFromS3AndEndWithTheUninterruptedWeights_When_ItsPodIsEvictedMidEpoch()
    {
        Assert.True(File.Exists("/usr/bin/python3"), "/usr/bin/python3 is missing: run scripts/install-deps.sh (python3-torch)");
        var checkpointSync = RepositoryPaths.Published("checkpoint-sync", "K8sTraining.CheckpointSync.dll");
        Assert.True(File.Exists(checkpointSync), $"{checkpointSync} is missing: run make publish");
        var ns = await cluster.NewNamespaceWithS3CredentialsAsync("pt-evict");
        var referenceNs = await cluster.NewNamespaceWithS3CredentialsAsync("pt-ref");
        await using var op = OperatorProcess.Start(cluster.Plane.KubeconfigPath, $"{ns},{referenceNs}", "op-pytorch", "--progress-interval-seconds", "1");
        using var census = new PodCensus(cluster.Client, ns, p => p.Status?.Phase is not ("Succeeded" or "Failed"));
        using var statuses = new StatusRecorder(cluster, ns);
        var uri = $"s3://{S3rverServer.Bucket}/jobs/{ns}/{Job}";

        // Slowed to 150 ms a step so the eviction lands part-way through; the delay changes no number.
        await ApplyExampleAsync(ns, stepDelayMs: 150);

        // Attempt 1 runs, and its status shows the checkpoint the sidecar committed, read from the sidecar's /metrics.
        var live = await cluster.WaitForJobAsync(ns, Job, j => j.Status is { Phase: JobPhases.Running, Attempt: 1, LastCheckpoint.GlobalStep: >= EverySteps }, "the sidecar's first commit in the status of attempt 1", TimeSpan.FromSeconds(120));
        var committed = live.Status!.LastCheckpoint!;
        Assert.Equal($"{uri}/{CheckpointLayout.DirectoryName(committed.GlobalStep)}", committed.Location);
        Assert.True(committed.Uploaded);
        Assert.Equal(((int?)(committed.GlobalStep / StepsPerEpoch), (long?)(committed.GlobalStep % StepsPerEpoch)), (committed.Epoch, committed.StepInEpoch));
        Assert.True(live.Status.Progress?.GlobalStep >= committed.GlobalStep, $"progress {live.Status.Progress?.GlobalStep}, checkpoint {committed.GlobalStep}");
        Assert.True(File.Exists(S3Object(ns, $"{CheckpointLayout.DirectoryName(committed.GlobalStep)}/{CheckpointLayout.ManifestFileName}")), "the status names a checkpoint that is not in S3");
        var scraped = await ScrapeSyncMetricsAsync(ns, (await cluster.Client.CoreV1.ReadNamespacedPodAsync(PodName(1), ns)).Status.PodIP);
        Assert.True(scraped >= committed.GlobalStep, $"the sidecar's /metrics says {scraped}, the status {committed.GlobalStep}");

        // The Secret and the URI reach only the sidecar.
        var pod1 = await cluster.Client.CoreV1.ReadNamespacedPodAsync(PodName(1), ns);
        var trainer = pod1.Spec.Containers.Single(c => c.Name == WellKnown.TrainerContainer);
        var sidecar = pod1.Spec.InitContainers.Single(c => c.Name == CheckpointSyncContract.ContainerName);
        Assert.Equal("Always", sidecar.RestartPolicy);
        Assert.DoesNotContain(trainer.Env ?? [], e => e.Name.StartsWith("AWS_", StringComparison.Ordinal) || e.Name == TrainerEnvironment.CheckpointUri);
        Assert.DoesNotContain(trainer.EnvFrom ?? [], e => e.SecretRef is not null);
        Assert.Contains(trainer.Env!, e => e.Name == TrainerEnvironment.CheckpointDirectory && e.Value == WellKnown.CheckpointDirectory);
        Assert.Equal("s3-credentials", Assert.Single(sidecar.EnvFrom).SecretRef?.Name);
        Assert.Contains(sidecar.Env, e => e.Name == TrainerEnvironment.CheckpointUri && e.Value == uri);

        await cluster.Client.CoreV1.CreateNamespacedPodEvictionAsync(new V1Eviction { Metadata = new V1ObjectMeta { Name = PodName(1), NamespaceProperty = ns } }, PodName(1), ns);

        // The trainer saved on SIGTERM, the sidecar committed that step and reported it: the resume point.
        var replaced = await cluster.WaitForJobAsync(ns, Job, j => j.Status is { Attempt: 2, Preemptions: 1 }, "the replacement after the eviction", TimeSpan.FromSeconds(120));
        var resume = replaced.Status!.ResumeFrom!;
        Assert.Equal("EvictionByEvictionAPI", replaced.Status.LastTermination?.Reason);
        Assert.Equal(TrainerExitCodes.Interrupted, replaced.Status.LastTermination?.ExitCode);
        Assert.Equal(0, replaced.Status.Restarts);
        Assert.InRange(resume.GlobalStep, committed.GlobalStep, FinalStep - 1);
        Assert.Equal($"{uri}/{CheckpointLayout.DirectoryName(resume.GlobalStep)}", resume.Location);
        Assert.Equal(((int?)(resume.GlobalStep / StepsPerEpoch), (long?)(resume.GlobalStep % StepsPerEpoch)), (resume.Epoch, resume.StepInEpoch));
        Assert.True(File.Exists(S3Object(ns, $"{CheckpointLayout.DirectoryName(resume.GlobalStep)}/weights.bin")), "the resume point is not committed in S3");

        // The uninterrupted reference: the same spec, its own namespace and prefix, started once attempt 2 runs (each
        // pod has its own address, so both sidecars serve the sync-metrics port).
        await cluster.WaitForJobAsync(ns, Job, j => j.Status is { Phase: JobPhases.Running, Attempt: 2 }, "attempt 2 running", TimeSpan.FromSeconds(120));
        await ApplyExampleAsync(referenceNs, stepDelayMs: 0);

        var done = await cluster.WaitForJobAsync(ns, Job, j => j.Status?.Phase is JobPhases.Succeeded or JobPhases.Failed, "finished", TimeSpan.FromSeconds(180));
        Assert.True(done.Status!.Phase == JobPhases.Succeeded, $"the evicted job did not succeed: {done.Status.LastTermination?.Message}");
        Assert.Equal((2, 1, 0), (done.Status.Attempt, done.Status.Preemptions, done.Status.Restarts));
        Assert.Equal((FinalStep, 3, 0L), (done.Status.Progress!.GlobalStep, done.Status.Progress.Epoch, done.Status.Progress.StepInEpoch));
        Assert.Equal($"{uri}/{CheckpointLayout.DirectoryName(FinalStep)}", done.Status.LastCheckpoint?.Location);
        Assert.True(done.Status.LastCheckpoint!.Uploaded);

        // The replacement's directory started empty: its sidecar restored the resume point from S3, and the trainer
        // resumed from that directory of the new pod at exactly the committed step.
        var pod2 = PodDirectory(ns, PodName(2));
        var restoredLine = $"Restored {CheckpointLayout.DirectoryName(resume.GlobalStep)} from {uri}";
        Assert.Contains(restoredLine, await File.ReadAllTextAsync(ContainerLog(pod2, CheckpointSyncContract.ContainerName)), StringComparison.Ordinal);
        Assert.DoesNotContain("Restored ", await File.ReadAllTextAsync(ContainerLog(PodDirectory(ns, PodName(1)), CheckpointSyncContract.ContainerName)), StringComparison.Ordinal);
        var resumed = ResumedLine().Match(await File.ReadAllTextAsync(ContainerLog(pod2, WellKnown.TrainerContainer)));
        Assert.True(resumed.Success, "attempt 2's trainer did not resume from a checkpoint");
        var resumedFrom = resumed.Groups["path"].Value;
        Assert.StartsWith(Path.Combine(pod2, "volumes") + "/", resumedFrom, StringComparison.Ordinal);
        Assert.EndsWith($"/{TrainerPodBuilder.CheckpointVolume}/{CheckpointLayout.DirectoryName(resume.GlobalStep)}", resumedFrom, StringComparison.Ordinal);
        Assert.Equal((resume.GlobalStep, resume.Epoch!.Value, resume.StepInEpoch!.Value), (Number(resumed, "step"), (int)Number(resumed, "epoch"), Number(resumed, "inEpoch")));
        Assert.Contains("training from step 0 ", await File.ReadAllTextAsync(ContainerLog(PodDirectory(ns, PodName(1)), WellKnown.TrainerContainer)), StringComparison.Ordinal);

        // Never two pods of the job alive at once (the replacement waited for the whole pod, the sidecar's flush included).
        Assert.Equal(1, census.MaxAliveAtOnce);

        // The status showed the position throughout: the committed step in both running attempts, never going back.
        var seen = statuses.Snapshot();
        output.WriteLine($"first commit in status: step {committed.GlobalStep}; resumed at step {resume.GlobalStep} (epoch {resume.Epoch}, step in epoch {resume.StepInEpoch}); status readings (attempt phase progress checkpoint): {string.Join(" | ", seen.Select(s => $"{s.Attempt} {s.Phase} {s.Progress} {s.Checkpoint}"))}");
        Assert.Contains(seen, s => s is { Attempt: 1, Phase: JobPhases.Running, Checkpoint: > 0 });
        Assert.Contains(seen, s => s.Attempt == 2 && s.Phase == JobPhases.Running && s.Checkpoint > resume.GlobalStep && s.Checkpoint < FinalStep);
        var steps = seen.Where(s => s.Progress is not null).Select(s => s.Progress!.Value).ToList();
        Assert.True(steps.Zip(steps.Skip(1)).All(p => p.First <= p.Second), $"the status's progress went back: {string.Join(", ", steps.Distinct())}");

        // Byte for byte the weights of the uninterrupted job, as committed in S3.
        var reference = await cluster.WaitForJobAsync(referenceNs, Job, j => j.Status?.Phase is JobPhases.Succeeded or JobPhases.Failed, "the reference finished", TimeSpan.FromSeconds(180));
        Assert.True(reference.Status!.Phase == JobPhases.Succeeded, $"the reference did not succeed: {reference.Status.LastTermination?.Message}");
        Assert.Equal((1, 0, 0), (reference.Status.Attempt, reference.Status.Preemptions, reference.Status.Restarts));
        var final = CheckpointLayout.DirectoryName(FinalStep);
        foreach (var file in new[] { "weights.bin", "model.pt" })
        {
            var expected = await File.ReadAllBytesAsync(S3Object(referenceNs, $"{final}/{file}"));
            var actual = await File.ReadAllBytesAsync(S3Object(ns, $"{final}/{file}"));
            Assert.True(expected.Length > 0 && expected.AsSpan().SequenceEqual(actual), $"{final}/{file} differs from the uninterrupted run's");
        }
    }

    private static string PodName(int attempt) => $"{Job}-attempt-{attempt.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Applies examples/pytorch/trainingjob.yaml with the real kubectl; the test changes only size, URI and pace.</summary>
    private async Task ApplyExampleAsync(string ns, int stepDelayMs)
    {
        var yaml = await File.ReadAllTextAsync(RepositoryPaths.Of("examples", "pytorch", "trainingjob.yaml"));
        yaml = ReplaceOnce(yaml, "\"--samples\", \"8192\"", $"\"--samples\", \"{Samples}\"");
        yaml = ReplaceOnce(yaml, "\"--checkpoint-every-steps\", \"50\"", $"\"--checkpoint-every-steps\", \"{EverySteps}\"");
        yaml = ReplaceOnce(yaml, $"uri: s3://{S3rverServer.Bucket}/jobs/{Job}\n", $"uri: s3://{S3rverServer.Bucket}/jobs/{ns}/{Job}\n");
        yaml = ReplaceOnce(yaml, "secretName: s3-credentials\n", "secretName: s3-credentials\n"); // the fixture's Secret has the example's name
        yaml = ReplaceOnce(yaml, "\nspec:\n", $"\nspec:\n  env: [{{name: EXAMPLE_STEP_DELAY_MS, value: \"{stepDelayMs}\"}}]\n");
        var file = Path.Combine(cluster.StateDirectory, $"{ns}-trainingjob.yaml");
        await File.WriteAllTextAsync(file, yaml);
        await cluster.KubectlOkAsync("apply", "-n", ns, "-f", file);
    }

    private static string ReplaceOnce(string text, string what, string with)
    {
        var at = text.IndexOf(what, StringComparison.Ordinal);
        Assert.True(at >= 0 && text.IndexOf(what, at + 1, StringComparison.Ordinal) < 0, $"examples/pytorch/trainingjob.yaml no longer holds '{what.Trim()}' exactly once: update this test");
        return string.Concat(text.AsSpan(0, at), with, text.AsSpan(at + what.Length));
    }

    /// <summary>The sidecar's own /metrics (sync-metrics port, at the pod's address): its committed step.</summary>
    private static async Task<double> ScrapeSyncMetricsAsync(string ns, string podIP)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var text = await http.GetStringAsync(new Uri($"http://{podIP}:{CheckpointSyncContract.DefaultMetricsPort.ToString(CultureInfo.InvariantCulture)}/metrics"));
        return PrometheusText.Parse(text).Single(s => s.Name == TrainerMetricNames.CheckpointGlobalStep
            && s.Labels.GetValueOrDefault(JobMetricLabels.Namespace) == ns && s.Labels.GetValueOrDefault(JobMetricLabels.Name) == Job).Value;
    }

    private string S3Object(string ns, string relative) =>
        Path.Combine(cluster.S3DataDirectory, S3rverServer.Bucket, "jobs", ns, Job, relative + "._S3rver_object");

    /// <summary>The node agent's directory of a pod: <c>pods/&lt;namespace&gt;_&lt;name&gt;_&lt;uid&gt;</c>.</summary>
    private string PodDirectory(string ns, string pod) =>
        Directory.EnumerateDirectories(cluster.StateDirectory, $"{ns}_{pod}_*", SearchOption.AllDirectories).Single();

    private static string ContainerLog(string podDirectory, string container) => Path.Combine(podDirectory, "containers", container, "0.log");

    private static long Number(Match match, string group) => long.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture);

    // train.py: "resumed from <path> at step N (epoch E, step in epoch S)".
    [GeneratedRegex(@"resumed from (?<path>\S+) at step (?<step>\d+) \(epoch (?<epoch>\d+), step in epoch (?<inEpoch>\d+)\)")]
    private static partial Regex ResumedLine();

    /// <summary>One reading of the job's status: the attempt, phase, progress step and committed step.</summary>
    private sealed record StatusReading(int Attempt, string? Phase, long? Progress, long? Checkpoint);

    /// <summary>Polls the job's status every 100 ms and keeps every distinct reading, in order.</summary>
    private sealed class StatusRecorder : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly List<StatusReading> _readings = [];
        private readonly Task _loop;

        public StatusRecorder(ClusterFixture cluster, string ns)
        {
            _loop = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    try
                    {
                        var status = (await cluster.GetJobAsync(ns, Job)).Status;
                        if (status is not null)
                        {
                            var reading = new StatusReading(status.Attempt, status.Phase, status.Progress?.GlobalStep, status.LastCheckpoint?.GlobalStep);
                            lock (_readings)
                            {
                                if (_readings.Count == 0 || _readings[^1] != reading)
                                {
                                    _readings.Add(reading);
                                }
                            }
                        }
                    }
                    catch (k8s.Autorest.HttpOperationException)
                    {
                        // Not created yet.
                    }

                    try
                    {
                        await Task.Delay(100, _stop.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }
            });
        }

        public IReadOnlyList<StatusReading> Snapshot()
        {
            lock (_readings)
            {
                return [.. _readings];
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _loop.Wait(TimeSpan.FromSeconds(5));
            _stop.Dispose();
        }
    }
}
