using System.Diagnostics;
using System.Globalization;
using K8sTraining.LocalCluster.Hosting;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Runtime;
using k8s;
using k8s.Models;

namespace K8sTraining.Benchmarks;

/// <summary>
/// The operator (published, as a real process) against the in-process local control plane:
/// 1. preemption latency: a running trainer pod (a script that exits 75 on SIGTERM, run by the node agent) is deleted;
///    time until its replacement pod exists, p50/p99 over BENCH_OPERATOR_PREEMPTIONS (default 50);
/// 2. BENCH_OPERATOR_JOBS (default 1,000) TrainingJobs created at once against a control plane without a node agent:
///    time until every one has its first pod and status written; throughput, operator CPU seconds and peak RSS.
/// </summary>
public sealed class OperatorBenchmarks : IBenchmarkSuite
{
    private const string ScriptImage = "k8straining.bench/script:1";

    public string Name => "operator";

    public async Task RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        Directory.CreateDirectory(context.ScratchDirectory);
        var preemptions = int.Parse(Environment.GetEnvironmentVariable("BENCH_OPERATOR_PREEMPTIONS") ?? "50", CultureInfo.InvariantCulture);
        var jobs = int.Parse(Environment.GetEnvironmentVariable("BENCH_OPERATOR_JOBS") ?? "1000", CultureInfo.InvariantCulture);
        Console.WriteLine($"{Environment.ProcessorCount} cores; operator .local/publish/operator (4 workers); local control plane in-process");
        await PreemptionLatencyAsync(context, preemptions, cancellationToken).ConfigureAwait(false);
        Console.WriteLine();
        await ThroughputAsync(context, jobs, cancellationToken).ConfigureAwait(false);
    }

    private static async Task PreemptionLatencyAsync(BenchmarkContext context, int count, CancellationToken cancellationToken)
    {
        var table = Path.Combine(context.ScratchDirectory, "images.yaml");
        var text = await File.ReadAllTextAsync(Path.Combine(context.RepositoryRoot, "localcluster", "images.yaml"), cancellationToken).ConfigureAwait(false);
        await File.WriteAllTextAsync(table, text.TrimEnd() + "\n\n  - patterns: [\"k8straining.bench/script:*\"]\n    entrypoint: [\"/bin/sh\", \"-c\", \"eval \\\"$TEST_SCRIPT\\\"\", \"script\"]\n    cmd: []\n", cancellationToken).ConfigureAwait(false);
        await using var plane = await LocalControlPlane.StartAsync(new LocalControlPlaneOptions
        {
            StartNodeAgent = true,
            RepositoryRoot = context.RepositoryRoot,
            StateDirectory = Path.Combine(context.ScratchDirectory, "latency-state"),
            ConfigureNodeAgent = o => new K8sTraining.NodeAgent.NodeAgentOptions
            {
                ClientConfiguration = OperatorServiceCollectionExtensions.LoadKubeconfig(o.KubeconfigPath!),
                RepositoryRoot = o.RepositoryRoot,
                NodeName = o.NodeName,
                RootDirectory = o.RootDirectory,
                ImageTablePath = table,
            },
        }, cancellationToken).ConfigureAwait(false);
        using var client = await ConnectAsync(context, plane, cancellationToken).ConfigureAwait(false);
        using var running = StartOperator(context, plane.KubeconfigPath, "bench-latency");
        var op = running.Process;
        await WaitUntilSyncedAsync(op, cancellationToken).ConfigureAwait(false);
        var job = new TrainingJob
        {
            Metadata = new V1ObjectMeta { Name = "latency", NamespaceProperty = "default" },
            Spec = new TrainingJobSpec
            {
                Image = ScriptImage,
                Training = new TrainingSpec { Model = "mlp", Dataset = "synthetic" },
                TerminationGracePeriodSeconds = 5,
                Env = [new V1EnvVar { Name = "TEST_SCRIPT", Value = "trap 'exit 75' TERM; while true; do sleep 0.05; done" }],
            },
        };
        await client.CustomObjects.CreateNamespacedCustomObjectAsync(job, TrainingJob.KubeGroup, TrainingJob.KubeVersion, "default", TrainingJob.KubePlural, cancellationToken: cancellationToken).ConfigureAwait(false);

        var samples = new List<double>();
        for (var attempt = 1; attempt <= count; attempt++)
        {
            var name = $"latency-attempt-{attempt}";
            await WaitAsync(async () => (await client.CoreV1.ReadNamespacedPodAsync(name, "default", cancellationToken: cancellationToken).ConfigureAwait(false)).Status?.Phase == "Running", TimeSpan.FromSeconds(60), $"{name} Running", cancellationToken).ConfigureAwait(false);
            var next = $"latency-attempt-{attempt + 1}";
            var clock = Stopwatch.StartNew();
            await client.CoreV1.DeleteNamespacedPodAsync(name, "default", cancellationToken: cancellationToken).ConfigureAwait(false);
            await WaitAsync(async () => (await client.CoreV1.ListNamespacedPodAsync("default", fieldSelector: $"metadata.name={next}", cancellationToken: cancellationToken).ConfigureAwait(false)).Items.Count == 1, TimeSpan.FromSeconds(60), $"{next} created", cancellationToken).ConfigureAwait(false);
            samples.Add(clock.Elapsed.TotalMilliseconds);
        }

        var final = await client.CustomObjects.GetNamespacedCustomObjectAsync<TrainingJob>(TrainingJob.KubeGroup, TrainingJob.KubeVersion, "default", TrainingJob.KubePlural, "latency", cancellationToken: cancellationToken).ConfigureAwait(false);
        samples.Sort();
        Console.WriteLine($"### pod deletion -> replacement pod created ({count} preemptions; trainer stand-in exits 75 on SIGTERM; includes the node agent's SIGTERM, status and the finalizer release)");
        Console.WriteLine("| p50 ms | p90 ms | p99 ms | max ms | status.preemptions | status.restarts |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {Percentile(samples, 0.50):0} | {Percentile(samples, 0.90):0} | {Percentile(samples, 0.99):0} | {samples[^1]:0} | {final.Status?.Preemptions} | {final.Status?.Restarts} |"));
    }

    private static async Task ThroughputAsync(BenchmarkContext context, int count, CancellationToken cancellationToken)
    {
        await using var plane = await LocalControlPlane.StartAsync(new LocalControlPlaneOptions { StartNodeAgent = false, RepositoryRoot = context.RepositoryRoot }, cancellationToken).ConfigureAwait(false);
        using var client = await ConnectAsync(context, plane, cancellationToken).ConfigureAwait(false);
        using var running = StartOperator(context, plane.KubeconfigPath, "bench-throughput");
        var op = running.Process;
        await WaitUntilSyncedAsync(op, cancellationToken).ConfigureAwait(false);
        var before = ProcessStats.Read(op.Id);
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            var job = new TrainingJob
            {
                Metadata = new V1ObjectMeta { Name = $"job-{i:D4}", NamespaceProperty = "default" },
                Spec = new TrainingJobSpec { Training = new TrainingSpec { Model = "mlp", Dataset = "synthetic" } },
            };
            await client.CustomObjects.CreateNamespacedCustomObjectAsync(job, TrainingJob.KubeGroup, TrainingJob.KubeVersion, "default", TrainingJob.KubePlural, cancellationToken: ct).ConfigureAwait(false);
        }).ConfigureAwait(false);
        var created = clock.Elapsed;
        var peakRss = 0L;
        await WaitAsync(async () =>
        {
            peakRss = Math.Max(peakRss, ProcessStats.Read(op.Id).RssBytes);
            var list = await client.CustomObjects.ListNamespacedCustomObjectAsync<TrainingJobList>(TrainingJob.KubeGroup, TrainingJob.KubeVersion, "default", TrainingJob.KubePlural, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (list.Items.Count(j => j.Status?.Attempt >= 1 && j.Status.ObservedGeneration == j.Metadata.Generation) == count)
            {
                return true;
            }

            // Poll gently: listing 1,000 objects competes with the operator for the same two cores.
            await Task.Delay(200, cancellationToken).ConfigureAwait(false);
            return false;
        }, TimeSpan.FromMinutes(10), $"{count} jobs reconciled", cancellationToken).ConfigureAwait(false);
        var elapsed = clock.Elapsed;
        var after = ProcessStats.Read(op.Id);
        var pods = (await client.CoreV1.ListNamespacedPodAsync("default", cancellationToken: cancellationToken).ConfigureAwait(false)).Items.Count;
        Console.WriteLine($"### {count} TrainingJobs created at once (8 parallel clients) -> each has its pod and status (no node agent: pods stay Pending)");
        Console.WriteLine("| jobs | pods | creates done s | all reconciled s | jobs/s | operator CPU s | CPU ms/job | peak RSS MiB | HWM RSS MiB |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        var cpu = after.CpuSeconds - before.CpuSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {count} | {pods} | {created.TotalSeconds:0.0} | {elapsed.TotalSeconds:0.0} | {count / elapsed.TotalSeconds:0.0} | {cpu:0.0} | {cpu * 1000 / count:0.0} | {Math.Max(peakRss, after.RssBytes) / 1048576.0:0} | {after.HwmBytes / 1048576.0:0} |"));
    }

    private static async Task<Kubernetes> ConnectAsync(BenchmarkContext context, LocalControlPlane plane, CancellationToken cancellationToken)
    {
        var client = new Kubernetes(OperatorServiceCollectionExtensions.LoadKubeconfig(plane.KubeconfigPath));
        var crd = KubernetesYaml.Deserialize<V1CustomResourceDefinition>(await File.ReadAllTextAsync(Path.Combine(context.RepositoryRoot, "crds", "trainingjobs.k8straining.io.yaml"), cancellationToken).ConfigureAwait(false));
        await client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(crd, cancellationToken: cancellationToken).ConfigureAwait(false);
        await WaitAsync(async () => (await client.CustomObjects.ListNamespacedCustomObjectAsync<TrainingJobList>(TrainingJob.KubeGroup, TrainingJob.KubeVersion, "default", TrainingJob.KubePlural, cancellationToken: cancellationToken).ConfigureAwait(false)) is not null, TimeSpan.FromSeconds(10), "the TrainingJob API", cancellationToken).ConfigureAwait(false);
        return client;
    }

    private static KillOnDispose StartOperator(BenchmarkContext context, string kubeconfig, string identity)
    {
        var dll = Path.Combine(context.PublishDirectory, "operator", "K8sTraining.Operator.dll");
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException($"{dll} is missing: run make publish");
        }

        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        foreach (var a in new[] { dll, "--kubeconfig", kubeconfig, "--namespaces", "default", "--identity", identity, "--http-port", port.ToString(CultureInfo.InvariantCulture) })
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["Logging__LogLevel__Default"] = "Warning";
        var process = Process.Start(info) ?? throw new InvalidOperationException("operator did not start");
        PortsByPid[process.Id] = port;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new KillOnDispose(process);
    }

    private static readonly Dictionary<int, int> PortsByPid = [];

    /// <summary>Measures start only once the operator has listed and watches (its /readyz says so).</summary>
    private static async Task WaitUntilSyncedAsync(Process op, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var port = PortsByPid[op.Id];
        await WaitAsync(async () =>
        {
            try
            {
                var text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/leader"), cancellationToken).ConfigureAwait(false);
                return text.Contains("\"cachesSynced\":true", StringComparison.Ordinal);
            }
            catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
            {
                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
                return false;
            }
        }, TimeSpan.FromSeconds(60), "the operator's caches to sync", cancellationToken).ConfigureAwait(false);
    }

    private static async Task WaitAsync(Func<Task<bool>> probe, TimeSpan timeout, string what, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            try
            {
                if (await probe().ConfigureAwait(false))
                {
                    return;
                }
            }
            catch (k8s.Autorest.HttpOperationException)
            {
            }

            await Task.Delay(5, cancellationToken).ConfigureAwait(false);
        }

        throw new TimeoutException($"timed out waiting for {what}");
    }

    private static double Percentile(List<double> sorted, double p) =>
        sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    /// <summary>Kills the operator process tree when disposed (end of a measurement) or when the bench exits.</summary>
    private sealed class KillOnDispose : IDisposable
    {
        public KillOnDispose(Process process)
        {
            Process = process;
            AppDomain.CurrentDomain.ProcessExit += (_, _) => Kill();
        }

        public Process Process { get; }

        public void Dispose()
        {
            Kill();
            Process.Dispose();
        }

        private void Kill()
        {
            try
            {
                if (!Process.HasExited)
                {
                    Process.Kill(entireProcessTree: true);
                    Process.WaitForExit(5000);
                }
            }
            catch (InvalidOperationException)
            {
            }
        }
    }

    /// <summary>CPU seconds (utime+stime) and resident memory of a process from /proc.</summary>
    private readonly record struct ProcessStats(double CpuSeconds, long RssBytes, long HwmBytes)
    {
        public static ProcessStats Read(int pid)
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            long rss = 0, hwm = 0;
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
                }
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    hwm = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
                }
            }

            return new ProcessStats(ticks / 100.0, rss, hwm);
        }
    }
}
