using System.Globalization;
using K8sTraining.NodeAgent.Network;
using K8sTraining.LocalCluster.Tests.NodeAgent;
using k8s;
using Xunit.Abstractions;

namespace K8sTraining.LocalCluster.Tests.Network;

/// <summary>
/// The pod network on a real node agent: each pod has its own address (status.podIP, the downward API) and hostname,
/// its servers bind that address, so two pods serve one port side by side, and its localhost is its own.
/// </summary>
[Trait("Category", "Integration")]
public sealed class PodNetworkTests(NodeAgentFixture cluster, ITestOutputHelper output) : IClassFixture<NodeAgentFixture>
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    [Fact]
    public async Task Pods_Should_EachServeTheTrainersMetricsPort_When_TwoTrainersRunOnOneNode()
    {
        var trainer = Path.Combine(RepositoryPaths.Root, ".local", "publish", "trainer", "K8sTraining.Trainer.dll");
        Assert.True(File.Exists(trainer), $"{trainer} is missing: run `make publish` (make test does)");
        const int port = 9464; // the trainer's metrics port, which both pods bind
        var pods = new List<k8s.Models.V1Pod>();
        foreach (var job in new[] { "job-a", "job-b" })
        {
            pods.Add(await cluster.CreateAsync(PodBuilder.Image("ghcr.io/k8straining/trainer:latest", "metrics",
                    "train", "--model", "mlp", "--dataset", "synthetic", "--samples", "20000", "--epochs", "1000",
                    "--checkpoint-dir", "/checkpoints", "--metrics-port", port.ToString(CultureInfo.InvariantCulture))
                .WithEnv("TRAINER_JOB_NAME", job)
                .WithEnv("TRAINER_THREADS", "1")
                .WithEmptyDir("checkpoints", "/checkpoints")
                .Build()));
        }

        try
        {
            var addresses = new List<string>();
            foreach (var (pod, job) in pods.Zip(["job-a", "job-b"]))
            {
                var running = await cluster.WaitForAsync(pod, p => p.Status?.Phase == "Running" && !string.IsNullOrEmpty(p.Status.PodIP), "Running with an address");
                var address = running.Status.PodIP;
                addresses.Add(address);
                // Each pod's own trainer answers on its own address: the job label says whose /metrics it is.
                var text = await Eventually.ValueAsync(
                    async () =>
                    {
                        try
                        {
                            // The job's series appear with the first measurement, shortly after the server is up.
                            var body = await Http.GetStringAsync(new Uri($"http://{address}:{port}/metrics"));
                            return body.Contains("job_name=", StringComparison.Ordinal) ? body : null;
                        }
                        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                        {
                            return null;
                        }
                    },
                    TimeSpan.FromSeconds(90),
                    $"{job}'s /metrics on {address}:{port}");
                Assert.Contains($"job_name=\"{job}\"", text, StringComparison.Ordinal);
                Assert.DoesNotContain($"job_name=\"{(job == "job-a" ? "job-b" : "job-a")}\"", text, StringComparison.Ordinal);
            }

            output.WriteLine($"two trainers serve /metrics on port {port}: {string.Join(" and ", addresses)}");
            Assert.NotEqual(addresses[0], addresses[1]);
            Assert.All(addresses, a => Assert.StartsWith("127.1.", a, StringComparison.Ordinal));
            foreach (var pod in pods)
            {
                // Neither trainer lost its port: both still run, never restarted.
                var current = await cluster.Client.CoreV1.ReadNamespacedPodAsync(pod.Metadata.Name, "default");
                Assert.Equal(("Running", 0), (current.Status.Phase, current.Status.ContainerStatuses[0].RestartCount));
            }
        }
        finally
        {
            foreach (var pod in pods)
            {
                await cluster.Client.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, "default", gracePeriodSeconds: 0);
            }
        }
    }

    [Fact]
    public async Task Pod_Should_SeeItsOwnAddressHostnameAndLocalhost_When_ItRuns()
    {
        // hostname(1), Python's gethostname and its resolution of the pod's own name, the downward API, and a server
        // on all addresses that the pod reaches on localhost while the host's 127.0.0.1 does not answer for it.
        const string script = """
            import os, socket, threading
            s = socket.socket(socket.AF_INET6); s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            s.bind(("::", 0)); s.listen(); port = s.getsockname()[1]
            threading.Thread(target=lambda: s.accept(), daemon=True).start()
            c = socket.create_connection(("127.0.0.1", port)); peer = c.getpeername()[0]
            print("|".join([os.environ["POD_IP"], s.getsockname()[0], socket.gethostname(), os.uname().nodename,
                            socket.gethostbyname(socket.gethostname()), peer, os.environ["HOSTNAME"]]), flush=True)
            """;
        var pod = await cluster.CreateAsync(PodBuilder.Shell($"exec /usr/bin/python3 -c '{script}'", "whoami")
            .WithFieldEnv("POD_IP", "status.podIP")
            .Build());

        var done = await cluster.WaitForAsync(pod, p => p.Status?.Phase is "Succeeded" or "Failed", "ended");

        var log = (await File.ReadAllTextAsync(cluster.LogFile(done))).Trim();
        output.WriteLine(log);
        Assert.Equal("Succeeded", done.Status.Phase);
        var ip = done.Status.PodIP;
        var name = done.Metadata.Name;
        Assert.Equal($"{ip}|::ffff:{ip}|{name}|{name}|{ip}|{ip}|{name}", log);
        var hosts = await File.ReadAllTextAsync(Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(cluster.LogFile(done))!)!)!, "etc-hosts"));
        Assert.Contains($"{ip}\t{name}\n", hosts, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pod_Should_KeepTheHostsLdPreload_When_TheNodeAgentAddsThePodNetworkLibrary()
    {
        var pod = await cluster.CreateAsync(PodBuilder.Shell("echo \"$LD_PRELOAD\"").WithEnv("LD_PRELOAD", "/usr/lib/x86_64-linux-gnu/libc.so.6").Build());

        var done = await cluster.WaitForAsync(pod, p => p.Status?.Phase is "Succeeded" or "Failed", "ended");

        var preload = (await File.ReadAllTextAsync(cluster.LogFile(done))).Trim().Split(':');
        Assert.Equal(PodNetworkLibrary.FileName, Path.GetFileName(preload[0]));
        Assert.Contains("/usr/lib/x86_64-linux-gnu/libc.so.6", preload);
    }
}
