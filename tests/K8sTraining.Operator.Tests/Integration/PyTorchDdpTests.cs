using System.Globalization;
using System.Text.RegularExpressions;
using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Pods;
using k8s;
using k8s.Models;
using Xunit.Abstractions;

namespace K8sTraining.Operator.Tests.Integration;

/// <summary>
/// Issue 18's "the PyTorch DDP example survives an eviction", through the operator on the local cluster:
/// examples/pytorch/trainingjob-ddp.yaml as written (only its size, namespace, URI and pace changed), two workers of
/// plain PyTorch DDP on gloo, each with its checkpoint-sync sidecar, rendezvous at worker 0's name through the job's
/// headless Service (the pods' hosts files). One worker is evicted mid-epoch: both ranks stop after the same step, rank 0
/// checkpoints and its sidecar commits; the operator replaces the whole gang, never with more than two pods of the job
/// present; the new gang resumes from the committed checkpoint and the job succeeds.
/// </summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "Integration")]
public sealed partial class PyTorchDdpTests(ClusterFixture cluster, ITestOutputHelper output)
{
    private const string Job = "pytorch-ddp";

    // 2048 samples in global batches of 2 x 64: 16 steps an epoch, 48 in 3 epochs.
    private const int Samples = 2048;
    private const int EverySteps = 5;
    private const long StepsPerEpoch = Samples / (2 * 64);
    private const long FinalStep = 3 * StepsPerEpoch;

    [Fact]
    public async Task Operator_Should_ReplaceTheGangAndResumeTheDdpExampleFromItsCheckpoint_When_OneWorkerIsEvictedMidEpoch()
    {
        Assert.True(File.Exists("/usr/bin/python3"), "/usr/bin/python3 is missing: run scripts/install-deps.sh (python3-torch)");
        var checkpointSync = RepositoryPaths.Published("checkpoint-sync", "K8sTraining.CheckpointSync.dll");
        Assert.True(File.Exists(checkpointSync), $"{checkpointSync} is missing: run make publish");
        var ns = await cluster.NewNamespaceWithS3CredentialsAsync("pt-ddp");
        await using var op = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-pytorch-ddp", "--progress-interval-seconds", "1");
        // Every pod of the namespace counts, Terminating ones too: the old gang must be gone before the new one appears.
        using var census = new PodCensus(cluster.Client, ns, _ => true);
        var uri = $"s3://{S3rverServer.Bucket}/jobs/{ns}/{Job}";

        await ApplyExampleAsync(ns, stepDelayMs: 200);

        // Attempt 1 trains on both workers, and rank 0's sidecar has committed a checkpoint to S3.
        await cluster.WaitForJobAsync(ns, Job, j => j.Status is { Phase: JobPhases.Running, Attempt: 1 }, "attempt 1 running", TimeSpan.FromSeconds(120));
        await Eventually.TrueAsync(() => CommittedSteps(ns).Any(), TimeSpan.FromSeconds(120), "the first committed checkpoint in S3");
        var rank0 = PodDirectory(ns, PodNames.ForWorker(Job, 1, 0));
        var rank1 = PodDirectory(ns, PodNames.ForWorker(Job, 1, 1));
        Assert.Contains($"rendezvous at {PodNames.ForWorker(Job, 1, 0)}.{PodNames.ServiceFor(Job)}:29500", await File.ReadAllTextAsync(ContainerLog(rank1, WellKnown.TrainerContainer)), StringComparison.Ordinal);

        var evicted = PodNames.ForWorker(Job, 1, 1);
        await cluster.Client.CoreV1.CreateNamespacedPodEvictionAsync(new V1Eviction { Metadata = new V1ObjectMeta { Name = evicted, NamespaceProperty = ns } }, evicted, ns);

        // The whole gang is replaced, and attempt 2 resumes from the checkpoint both ranks stopped at.
        var replaced = await cluster.WaitForJobAsync(ns, Job, j => j.Status is { Attempt: 2, Preemptions: 1, ResumeFrom: not null }, "the replacement after the eviction", TimeSpan.FromSeconds(120));
        var resume = replaced.Status!.ResumeFrom!;
        Assert.InRange(resume.GlobalStep, 1, FinalStep - 1);
        Assert.Equal($"{uri}/{CheckpointLayout.DirectoryName(resume.GlobalStep)}", resume.Location);
        Assert.Contains(CheckpointLayout.DirectoryName(resume.GlobalStep), CommittedSteps(ns));

        // Both ranks of attempt 1 stopped after that same step with exit 75 (the stop flag all-reduced with the step).
        foreach (var directory in new[] { rank0, rank1 })
        {
            var log = await File.ReadAllTextAsync(ContainerLog(directory, WellKnown.TrainerContainer));
            Assert.Contains($"\"status\": \"preempted\", \"message\": \"preempted at step {resume.GlobalStep} ", log, StringComparison.Ordinal);
        }

        var done = await cluster.WaitForJobAsync(ns, Job, j => j.Status?.Phase is JobPhases.Succeeded or JobPhases.Failed, "finished", TimeSpan.FromSeconds(240));
        Assert.True(done.Status!.Phase == JobPhases.Succeeded, $"the evicted job did not succeed: {done.Status.LastTermination?.Message}");
        Assert.Equal((2, 1, 0), (done.Status.Attempt, done.Status.Preemptions, done.Status.Restarts));
        Assert.Equal($"{uri}/{CheckpointLayout.DirectoryName(FinalStep)}", done.Status.LastCheckpoint?.Location);

        // Attempt 2's rank 0 resumed from what its sidecar restored, at exactly the committed step; rank 1 got it by
        // broadcast (it reads no checkpoint), and neither started from step 0.
        foreach (var rank in new[] { 0, 1 })
        {
            var log = await File.ReadAllTextAsync(ContainerLog(PodDirectory(ns, PodNames.ForWorker(Job, 2, rank)), WellKnown.TrainerContainer));
            var resumed = ResumedLine().Match(log);
            Assert.True(resumed.Success, $"attempt 2's rank {rank} did not resume from a checkpoint");
            Assert.Equal(resume.GlobalStep, long.Parse(resumed.Groups["step"].Value, CultureInfo.InvariantCulture));
        }

        output.WriteLine($"evicted {evicted}; both ranks stopped at step {resume.GlobalStep}; at most {census.MaxAliveAtOnce} pods present at once");
        Assert.True(census.MaxAliveAtOnce <= 2, $"{census.MaxAliveAtOnce} pods of a 2-worker job were present at once");
    }

    /// <summary>Applies examples/pytorch/trainingjob-ddp.yaml with the real kubectl; the test changes only size, URI and pace.</summary>
    private async Task ApplyExampleAsync(string ns, int stepDelayMs)
    {
        var yaml = await File.ReadAllTextAsync(RepositoryPaths.Of("examples", "pytorch", "trainingjob-ddp.yaml"));
        yaml = ReplaceOnce(yaml, "\"--samples\", \"8192\"", $"\"--samples\", \"{Samples}\"");
        yaml = ReplaceOnce(yaml, "\"--checkpoint-every-steps\", \"25\"", $"\"--checkpoint-every-steps\", \"{EverySteps}\"");
        yaml = ReplaceOnce(yaml, $"uri: s3://{S3rverServer.Bucket}/jobs/{Job}\n", $"uri: s3://{S3rverServer.Bucket}/jobs/{ns}/{Job}\n");
        yaml = ReplaceOnce(yaml, "\nspec:\n", $"\nspec:\n  env: [{{name: EXAMPLE_STEP_DELAY_MS, value: \"{stepDelayMs}\"}}]\n");
        var file = Path.Combine(cluster.StateDirectory, $"{ns}-trainingjob-ddp.yaml");
        await File.WriteAllTextAsync(file, yaml);
        await cluster.KubectlOkAsync("apply", "-n", ns, "-f", file);
    }

    private static string ReplaceOnce(string text, string what, string with)
    {
        var at = text.IndexOf(what, StringComparison.Ordinal);
        Assert.True(at >= 0 && text.IndexOf(what, at + 1, StringComparison.Ordinal) < 0, $"examples/pytorch/trainingjob-ddp.yaml no longer holds '{what.Trim()}' exactly once: update this test");
        return string.Concat(text.AsSpan(0, at), with, text.AsSpan(at + what.Length));
    }

    /// <summary>The step directories committed in S3 (their manifest is there), by name.</summary>
    private IReadOnlyList<string> CommittedSteps(string ns)
    {
        var prefix = Path.Combine(cluster.S3DataDirectory, S3rverServer.Bucket, "jobs", ns, Job);
        return Directory.Exists(prefix)
            ? Directory.GetDirectories(prefix, "step-*").Where(d => File.Exists(Path.Combine(d, CheckpointLayout.ManifestFileName + "._S3rver_object")))
                .Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList()
            : [];
    }

    /// <summary>The node agent's directory of a pod: <c>pods/&lt;namespace&gt;_&lt;name&gt;_&lt;uid&gt;</c>.</summary>
    private string PodDirectory(string ns, string pod) =>
        Directory.EnumerateDirectories(cluster.StateDirectory, $"{ns}_{pod}_*", SearchOption.AllDirectories).Single();

    private static string ContainerLog(string podDirectory, string container) => Path.Combine(podDirectory, "containers", container, "0.log");

    // train.py: "resumed from <path> at step N (epoch E, step in epoch S)".
    [GeneratedRegex(@"resumed from (?<path>\S+) at step (?<step>\d+) \(epoch (?<epoch>\d+), step in epoch (?<inEpoch>\d+)\)")]
    private static partial Regex ResumedLine();
}
