using System.Text.Json;
using k8s;
using k8s.Models;
using Xunit.Abstractions;

namespace K8sTraining.LocalCluster.Tests.NodeAgent;

/// <summary>
/// The "done when": a pod whose image is the trainer runs on the local node, is evicted, checkpoints on
/// SIGTERM, and its status shows exit 75 and the trainer's termination message. Needs the published trainer
/// (`make test` publishes it first).
/// </summary>
[Trait("Category", "Integration")]
public sealed class TrainerPodTests(NodeAgentFixture cluster, ITestOutputHelper output) : IClassFixture<NodeAgentFixture>
{
    [Fact]
    public async Task Eviction_Should_CheckpointAndReportExit75WithTerminationMessage_When_PodRunsTheTrainer()
    {
        var trainer = Path.Combine(RepositoryPaths.Root, ".local", "publish", "trainer", "K8sTraining.Trainer.dll");
        Assert.True(File.Exists(trainer), $"{trainer} is missing: run `make publish` (make test does)");
        var hostCheckpoints = Path.Combine(cluster.Root, "host", PodBuilder.UniqueName("checkpoints"));
        var pod = await cluster.CreateAsync(PodBuilder.Image(
                "ghcr.io/k8straining/trainer:latest",
                "trainer",
                "train", "--model", "mlp", "--dataset", "synthetic", "--samples", "20000", "--epochs", "1000",
                "--checkpoint-dir", "/checkpoints", "--progress", "log", "--log-every-steps", "20")
            .WithEnv("TRAINER_TERMINATION_LOG", "/dev/termination-log")
            .WithHostPath("checkpoints", hostCheckpoints, "/checkpoints")
            .WithTerminationMessagePolicy("FallbackToLogsOnError")
            .WithGracePeriod(30)
            .Build());
        var running = await cluster.WaitForAsync(pod, p => p.Status?.Phase == "Running", "Running");
        await cluster.WaitForLogAsync(running, "Starting mlp", TimeSpan.FromSeconds(90));

        var seen = cluster.WatchUntilDeletedAsync(running);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await cluster.Client.CoreV1.CreateNamespacedPodEvictionAsync(
            new V1Eviction { Metadata = new V1ObjectMeta { Name = pod.Metadata.Name, NamespaceProperty = "default" } },
            pod.Metadata.Name,
            "default");
        var events = await seen;
        output.WriteLine($"eviction -> trainer checkpointed, exited 75 and the pod object is gone: {clock.ElapsedMilliseconds} ms");

        Assert.Equal(WatchEventType.Deleted, events[^1].Type);
        var final = events.Last(e => e.Type == WatchEventType.Modified && e.Pod.Status?.ContainerStatuses?[0].State?.Terminated is not null).Pod;
        var terminated = final.Status.ContainerStatuses[0].State.Terminated;
        Assert.Equal(75, terminated.ExitCode);
        Assert.Equal("Failed", final.Status.Phase);
        Assert.Contains(final.Status.Conditions, c => c.Type == "DisruptionTarget" && c.Reason == "EvictionByEvictionAPI");
        using var message = JsonDocument.Parse(terminated.Message);
        Assert.Equal("preempted", message.RootElement.GetProperty("status").GetString());
        var checkpoint = message.RootElement.GetProperty("checkpoint").GetString();
        Assert.NotNull(checkpoint);
        Assert.Equal(hostCheckpoints, Path.GetDirectoryName(checkpoint));
        Assert.True(File.Exists(Path.Combine(checkpoint, "manifest.json")), $"{checkpoint}/manifest.json is missing");
        Assert.Equal(message.RootElement.GetProperty("globalStep").GetInt64(), long.Parse(Path.GetFileName(checkpoint)["step-".Length..]));
    }

    [Fact]
    public async Task Pod_Should_FailWithExit2AndTheTrainersReport_When_ItsConfigurationIsInvalid()
    {
        var pod = await cluster.CreateAsync(PodBuilder.Image("ghcr.io/k8straining/trainer:latest", "trainer-invalid", "train", "--model", "transformer")
            .WithEnv("TRAINER_TERMINATION_LOG", "/dev/termination-log")
            .WithTerminationMessagePolicy("FallbackToLogsOnError")
            .Build());

        var failed = await cluster.WaitForAsync(pod, p => p.Status?.Phase == "Failed", "Failed", TimeSpan.FromSeconds(60));

        var terminated = failed.Status.ContainerStatuses[0].State.Terminated;
        Assert.Equal(2, terminated.ExitCode);
        Assert.Equal("Error", terminated.Reason);
        using var message = JsonDocument.Parse(terminated.Message);
        Assert.Equal("invalid", message.RootElement.GetProperty("status").GetString());
    }
}
