using k8s;
using k8s.Models;
using K8sTraining.LocalCluster.Hosting;

namespace K8sTraining.LocalCluster.Tests.ApiServer;

/// <summary>The control plane with its node agent in-process: pods really run as local processes.</summary>
public sealed class NodeAgentFixture : ControlPlaneFixture
{
    public string StateDirectory { get; } = Directory.CreateTempSubdirectory("local-node-").FullName;

    protected override LocalControlPlaneOptions Options => base.Options with
    {
        StartNodeAgent = true,
        StateDirectory = StateDirectory,
        RepositoryRoot = Hosting.RepositoryRoot.Find(),
    };
}

/// <summary>The end-to-end check: a trainer pod is evicted, checkpoints on SIGTERM and reports exit 75.</summary>
[Trait("Category", "Integration")]
public sealed class TrainerEvictionTests(NodeAgentFixture fx) : IClassFixture<NodeAgentFixture>
{
    [Fact]
    public async Task Evict_Should_LetTheTrainerCheckpointAndExit75_When_ItsPodIsEvicted()
    {
        var trainer = Path.Combine(Hosting.RepositoryRoot.Find(), ".local", "publish", "trainer", "K8sTraining.Trainer.dll");
        Assert.True(File.Exists(trainer), $"{trainer} is missing: run `make publish` (make test does) first");
        var ns = await fx.NewNamespaceAsync();
        var created = await fx.Client.CoreV1.CreateNamespacedPodAsync(new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = "trainer" },
            Spec = new V1PodSpec
            {
                RestartPolicy = "Never",
                TerminationGracePeriodSeconds = 60,
                Volumes = [new V1Volume { Name = "ckpt", EmptyDir = new V1EmptyDirVolumeSource() }],
                Containers =
                [
                    new V1Container
                    {
                        Name = "trainer",
                        Image = "ghcr.io/k8straining/trainer:test",
                        Args = ["train", "--model", "mlp", "--dataset", "synthetic", "--samples", "20000", "--epochs", "1000",
                            "--checkpoint-dir", "/ckpt", "--checkpoint-every-steps", "100000", "--termination-log", "/dev/termination-log"],
                        VolumeMounts = [new V1VolumeMount { Name = "ckpt", MountPath = "/ckpt" }],
                    },
                ],
            },
        }, ns);
        var events = new List<(WatchEventType Type, V1Pod Pod)>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var watching = Task.Run(async () =>
        {
            await foreach (var (type, pod) in fx.Client.CoreV1.WatchListNamespacedPodAsync(ns, resourceVersion: created.Metadata.ResourceVersion, cancellationToken: cts.Token))
            {
                lock (events)
                {
                    events.Add((type, pod));
                }

                if (type == WatchEventType.Deleted)
                {
                    break;
                }
            }
        });

        await Eventually.TrueAsync(() => Task.FromResult(TrainerLog(created).Contains("Starting mlp", StringComparison.Ordinal)), "the trainer starts training", TimeSpan.FromSeconds(60));
        using var logStream = await fx.Client.CoreV1.ReadNamespacedPodLogAsync("trainer", ns, container: "trainer");
        var logs = await new StreamReader(logStream).ReadToEndAsync();
        await fx.Client.CoreV1.CreateNamespacedPodEvictionAsync(new V1Eviction { Metadata = new V1ObjectMeta { Name = "trainer", NamespaceProperty = ns } }, "trainer", ns);
        await watching;

        List<(WatchEventType Type, V1Pod Pod)> seen;
        lock (events)
        {
            seen = [.. events];
        }

        Assert.Contains(seen, e => e.Pod.Status?.Phase == "Running");
        Assert.Contains("Starting mlp", logs, StringComparison.Ordinal);
        var last = seen.Last(e => e.Type == WatchEventType.Modified).Pod;
        var terminated = last.Status.ContainerStatuses.Single().State.Terminated;
        Assert.Equal(75, terminated.ExitCode);
        Assert.Contains("\"status\":\"preempted\"", terminated.Message, StringComparison.Ordinal);
        Assert.Contains(last.Status.Conditions, c => c is { Type: "DisruptionTarget", Status: "True", Reason: "EvictionByEvictionAPI" });
        Assert.Equal(WatchEventType.Deleted, seen[^1].Type);
        Assert.Contains("step-", terminated.Message, StringComparison.Ordinal);
    }

    private string TrainerLog(V1Pod pod)
    {
        var dir = Path.Combine(fx.StateDirectory, "nodes", "local-node", "pods", $"{pod.Metadata.NamespaceProperty}_{pod.Metadata.Name}_{pod.Metadata.Uid}", "containers", "trainer");
        var log = Path.Combine(dir, "0.log");
        try
        {
            return File.Exists(log) ? File.ReadAllText(log) : "";
        }
        catch (IOException)
        {
            return "";
        }
    }
}
