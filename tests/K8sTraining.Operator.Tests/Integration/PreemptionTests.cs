using System.Text.RegularExpressions;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Reconciliation;
using k8s;
using k8s.Models;

namespace K8sTraining.Operator.Tests.Integration;

/// <summary>The story the project exists for, with the real trainer: evicted mid-run, replaced, resumed exactly, done.</summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "Integration")]
public sealed partial class PreemptionTests(ClusterFixture cluster)
{
    [Fact]
    public async Task Operator_Should_ReplaceAndResumeFromTheCheckpoint_When_TheTrainerPodIsEvicted()
    {
        var ns = await cluster.NewNamespaceWithS3CredentialsAsync("evict");
        await using var op = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-evict");
        var prefix = $"jobs/{ns}/mnist";
        await cluster.CreateJobAsync(new TrainingJob
        {
            Metadata = new V1ObjectMeta { Name = "mnist", NamespaceProperty = ns },
            Spec = new TrainingJobSpec
            {
                Training = new TrainingSpec { Model = "mlp", Dataset = "synthetic", Samples = 8192, Epochs = 2, BatchSize = 32, Seed = 7 },
                Checkpoint = new CheckpointSpec { Uri = $"s3://k8straining/{prefix}", SecretName = "s3-credentials", EverySteps = 40, Keep = 3 },
                TerminationGracePeriodSeconds = 30,
                Env = [new V1EnvVar { Name = "TRAINER_THREADS", Value = "1" }],
            },
        });
        using var watch = new PodCensus(cluster.Client, ns, p => PodClassifier.StateOf(p) is PodState.Running or PodState.Terminating);

        // Evict once a periodic checkpoint is in S3, i.e. part-way through.
        await cluster.WaitForJobAsync(ns, "mnist", j => j.Status?.Phase == JobPhases.Running, "Running", TimeSpan.FromSeconds(90));
        await Eventually.GetAsync(() => Task.FromResult(Directory.EnumerateFiles(cluster.S3DataDirectory, "*", SearchOption.AllDirectories).Any(f => f.Contains(prefix + "/latest.json", StringComparison.Ordinal))), found => found, TimeSpan.FromSeconds(90), "a first checkpoint in S3");
        await cluster.Client.CoreV1.CreateNamespacedPodEvictionAsync(new V1Eviction { Metadata = new V1ObjectMeta { Name = "mnist-attempt-1", NamespaceProperty = ns } }, "mnist-attempt-1", ns);

        var preempted = await cluster.WaitForJobAsync(ns, "mnist", j => j.Status?.Preemptions == 1 && j.Status.Attempt == 2, "the replacement after the eviction", TimeSpan.FromSeconds(60));
        var resume = preempted.Status!.ResumeFrom!;
        Assert.Equal("EvictionByEvictionAPI", preempted.Status.LastTermination?.Reason);
        Assert.Equal(75, preempted.Status.LastTermination?.ExitCode);
        Assert.Equal(0, preempted.Status.Restarts);
        Assert.True(resume.GlobalStep > 0 && resume.GlobalStep < 512, $"resume point {resume.GlobalStep}");
        Assert.StartsWith($"s3://k8straining/{prefix}/step-", resume.Location, StringComparison.Ordinal);

        var done = await cluster.WaitForJobAsync(ns, "mnist", j => j.Status?.Phase == JobPhases.Succeeded, "Succeeded", TimeSpan.FromSeconds(120));
        Assert.Equal(512, done.Status!.Progress?.GlobalStep);
        Assert.Equal(1, done.Status.Preemptions);
        Assert.Equal(0, done.Status.Restarts);
        Assert.NotNull(done.Status.TestAccuracy);

        // The replacement resumed at exactly the recorded position, and the two attempts never overlapped.
        var log = FindLog(ns, "mnist-attempt-2");
        Assert.Contains($"Resuming at epoch {resume.Epoch}, step {resume.StepInEpoch} of epoch (global step {resume.GlobalStep})", await File.ReadAllTextAsync(log), StringComparison.Ordinal);
        Assert.Equal(1, watch.MaxAliveAtOnce);
        // The operator records a transition's Events right after writing its status, so they may trail the phase.
        var events = await Eventually.GetAsync(
            async () => (await cluster.EventsAsync(ns)).Where(e => e.InvolvedObject.Name == "mnist").Select(e => e.Reason).ToList(),
            es => es.Contains(EventReasons.Succeeded),
            TimeSpan.FromSeconds(30),
            "the Succeeded Event");
        Assert.Contains(EventReasons.Preempted, events);
        Assert.Contains(EventReasons.Succeeded, events);
    }

    [Fact]
    public async Task Operator_Should_ShowTheLiveResumePointAndResumeThere_When_APodDiesWithoutATerminationMessage()
    {
        var ns = await cluster.NewNamespaceWithS3CredentialsAsync("lost");
        await using var op = OperatorProcess.Start(cluster.Plane.KubeconfigPath, ns, "op-lost", "--progress-interval-seconds", "1");
        var prefix = $"jobs/{ns}/mnist";
        await cluster.CreateJobAsync(new TrainingJob
        {
            Metadata = new V1ObjectMeta { Name = "mnist", NamespaceProperty = ns },
            Spec = new TrainingJobSpec
            {
                Training = new TrainingSpec { Model = "mlp", Dataset = "synthetic", Samples = 8192, Epochs = 2, BatchSize = 32, Seed = 7 },
                // A checkpoint every 150 steps of about 20 ms: seconds apart, so the kill below lands between two.
                Checkpoint = new CheckpointSpec { Uri = $"s3://k8straining/{prefix}", SecretName = "s3-credentials", EverySteps = 150, Keep = 3 },
                TerminationGracePeriodSeconds = 30,
                MetricsPort = OperatorProcess.FreePort(),
                Env =
                [
                    new V1EnvVar { Name = "TRAINER_THREADS", Value = "1" },
                    new V1EnvVar { Name = "K8STRAINING_TEST_STEP_DELAY_MS", Value = "20" },
                ],
            },
        });

        // While attempt 1 runs, the status follows the trainer: its position, and its first committed checkpoint.
        var live = await cluster.WaitForJobAsync(
            ns,
            "mnist",
            j => j.Status is { Phase: JobPhases.Running, Attempt: 1, LastTermination: null, LastCheckpoint.GlobalStep: >= 150 },
            "the first checkpoint in the status of the running attempt",
            TimeSpan.FromSeconds(90));
        var checkpoint = live.Status!.LastCheckpoint!;
        Assert.Equal($"s3://k8straining/{prefix}/step-{checkpoint.GlobalStep:D12}", checkpoint.Location);
        Assert.Equal(((int)(checkpoint.GlobalStep / 256), checkpoint.GlobalStep % 256), (checkpoint.Epoch!.Value, checkpoint.StepInEpoch!.Value));
        Assert.True(checkpoint.Uploaded);
        Assert.Equal(checkpoint.Location, live.Status.ResumeFrom?.Location);
        Assert.True(live.Status.Progress?.GlobalStep >= checkpoint.GlobalStep, $"progress {live.Status.Progress?.GlobalStep}, checkpoint {checkpoint.GlobalStep}");
        Assert.Contains(Directory.EnumerateFiles(cluster.S3DataDirectory, "*", SearchOption.AllDirectories), f => f.Contains($"{prefix}/step-{checkpoint.GlobalStep:D12}/manifest.json", StringComparison.Ordinal));

        // The node is lost: the pod dies at once (no grace, so no SIGTERM checkpoint and no termination message).
        await cluster.Client.CoreV1.DeleteNamespacedPodAsync("mnist-attempt-1", ns, new V1DeleteOptions { GracePeriodSeconds = 0 });
        var replaced = await cluster.WaitForJobAsync(ns, "mnist", j => j.Status?.Attempt == 2 && j.Status.LastTermination?.Attempt == 1, "the replacement", TimeSpan.FromSeconds(60));
        var resume = replaced.Status!.ResumeFrom!;
        Assert.Equal(1, replaced.Status.Preemptions);
        Assert.Equal(0, replaced.Status.Restarts);
        Assert.True(resume.GlobalStep >= 150, $"resume point {resume.GlobalStep}");

        var done = await cluster.WaitForJobAsync(ns, "mnist", j => j.Status?.Phase == JobPhases.Succeeded, "Succeeded", TimeSpan.FromSeconds(120));
        Assert.Equal(512, done.Status!.Progress?.GlobalStep);
        Assert.Contains($"(global step {resume.GlobalStep}) from", await File.ReadAllTextAsync(FindLog(ns, "mnist-attempt-2")), StringComparison.Ordinal);
        var created = (await cluster.EventsAsync(ns)).Single(e => e.Reason == EventReasons.AttemptCreated && e.Message.Contains("attempt 2", StringComparison.Ordinal));
        Assert.Contains($"resumes from {resume.Location}", created.Message, StringComparison.Ordinal);
    }

    private string FindLog(string ns, string pod)
    {
        var root = Path.Combine(Path.GetDirectoryName(cluster.S3DataDirectory)!, "state");
        return Directory.EnumerateFiles(root, "*.log", SearchOption.AllDirectories)
            .Single(f => f.Contains($"{ns}_{pod}_", StringComparison.Ordinal) && PodLog().IsMatch(f));
    }

    [GeneratedRegex(@"containers/trainer/\d+\.log$")]
    private static partial Regex PodLog();
}
