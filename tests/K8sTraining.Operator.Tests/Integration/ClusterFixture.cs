using System.Diagnostics;
using K8sTraining.LocalCluster.Hosting;
using K8sTraining.Operator.Api;
using k8s;
using k8s.Models;

namespace K8sTraining.Operator.Tests.Integration;

/// <summary>
/// One local control plane (API server double + node agent running pods as local processes) shared by the
/// integration tests, with the TrainingJob CRD applied and a test image `k8straining.test/script:*` that runs
/// `$TEST_SCRIPT` with /bin/sh, plus an s3rver for checkpoints. Each test works in its own namespace.
/// </summary>
public class ClusterFixture : IAsyncLifetime
{
    public const string ScriptImage = "k8straining.test/script:1";

    private string _scratch = "";
    private S3rverServer? _s3rver;

    public LocalControlPlane Plane { get; private set; } = null!;

    public IKubernetes Client { get; private set; } = null!;

    public string S3Endpoint { get; private set; } = "";

    public string S3DataDirectory { get; private set; } = "";

    /// <summary>Where the node agents keep their pods (<c>nodes/&lt;node&gt;/pods/...</c>: logs, termination files).</summary>
    public string StateDirectory => Path.Combine(_scratch, "state");

    /// <summary>The control plane's options: one node with a real cluster's timings unless a subclass says otherwise.</summary>
    protected virtual LocalControlPlaneOptions Configure(LocalControlPlaneOptions options) => options;

    public virtual async Task InitializeAsync()
    {
        _scratch = Directory.CreateTempSubdirectory("k8straining-operator-tests-").FullName;
        var table = Path.Combine(_scratch, "images.yaml");
        var text = await File.ReadAllTextAsync(Path.Combine(RepositoryPaths.Root, "localcluster", "images.yaml"));
        text = text.TrimEnd() + """


              - patterns: ["k8straining.test/script:*"]
                entrypoint: ["/bin/sh", "-c", "eval \"$TEST_SCRIPT\"", "script"]
                cmd: []

            """;
        await File.WriteAllTextAsync(table, text);
        Plane = await LocalControlPlane.StartAsync(Configure(new LocalControlPlaneOptions
        {
            StartNodeAgent = true,
            RepositoryRoot = RepositoryPaths.Root,
            StateDirectory = StateDirectory,
            // Everything the plane gave each agent (its name, HostIP, directory, heartbeat timings) is kept.
            ConfigureNodeAgent = o => o with
            {
                ClientConfiguration = K8sTraining.Operator.Runtime.OperatorServiceCollectionExtensions.LoadKubeconfig(o.KubeconfigPath!),
                ImageTablePath = table,
            },
        }));
        Client = new Kubernetes(K8sTraining.Operator.Runtime.OperatorServiceCollectionExtensions.LoadKubeconfig(Plane.KubeconfigPath));
        var crd = KubernetesYaml.Deserialize<V1CustomResourceDefinition>(await File.ReadAllTextAsync(Path.Combine(RepositoryPaths.Root, "crds", "trainingjobs.k8straining.io.yaml")));
        await Client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(crd);
        await Eventually.GetAsync(
            async () => (await Client.CustomObjects.ListClusterCustomObjectAsync<TrainingJobList>(TrainingJob.KubeGroup, TrainingJob.KubeVersion, TrainingJob.KubePlural)).Items.Count,
            _ => true,
            TimeSpan.FromSeconds(10),
            "the TrainingJob API to be served");
        await StartS3rverAsync();
    }

    public virtual async Task DisposeAsync()
    {
        if (_s3rver is not null)
        {
            await _s3rver.DisposeAsync();
        }

        Client.Dispose();
        await Plane.DisposeAsync();
        try
        {
            Directory.Delete(_scratch, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>The real kubectl against this cluster: (exit code, stdout, stderr).</summary>
    public Task<(int ExitCode, string Stdout, string Stderr)> KubectlAsync(params string[] args) => KubectlWithInputAsync(null, args);

    /// <summary>The real kubectl reading <paramref name="stdin"/> (for <c>apply -f -</c>): (exit code, stdout, stderr).</summary>
    public async Task<(int ExitCode, string Stdout, string Stderr)> KubectlWithInputAsync(string? stdin, params string[] args)
    {
        var psi = new ProcessStartInfo("kubectl") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin is not null, UseShellExecute = false };
        foreach (var a in new[] { "--kubeconfig", Plane.KubeconfigPath, "--cache-dir", Path.Combine(_scratch, "kubectl-cache") }.Concat(args))
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi)!;
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }

        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>kubectl that must succeed; returns its stdout.</summary>
    public async Task<string> KubectlOkAsync(params string[] args)
    {
        var (code, stdout, stderr) = await KubectlAsync(args);
        Assert.True(code == 0, $"kubectl {string.Join(' ', args)} failed ({code}): {stderr}\n{stdout}");
        return stdout;
    }

    /// <summary>kubectl reading <paramref name="stdin"/> that must succeed; returns its stdout.</summary>
    public async Task<string> KubectlOkWithInputAsync(string stdin, params string[] args)
    {
        var (code, stdout, stderr) = await KubectlWithInputAsync(stdin, args);
        Assert.True(code == 0, $"kubectl {string.Join(' ', args)} failed ({code}): {stderr}\n{stdout}");
        return stdout;
    }

    /// <summary>The log file of a pod's trainer container on the node agent (its first run, restart count 0).</summary>
    public string TrainerLogPath(string ns, string pod) =>
        Directory.EnumerateFiles(StateDirectory, "0.log", SearchOption.AllDirectories)
            .Single(f => f.Contains($"{ns}_{pod}_", StringComparison.Ordinal) && f.EndsWith(Path.Combine("containers", "trainer", "0.log"), StringComparison.Ordinal));

    /// <summary>A fresh namespace for one test.</summary>
    public async Task<string> NewNamespaceAsync(string prefix)
    {
        var name = $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 9, 63)];
        await Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = name } });
        return name;
    }

    /// <summary>A fresh namespace holding the s3-credentials Secret for the test S3 server; the trainer must be published.</summary>
    public async Task<string> NewNamespaceWithS3CredentialsAsync(string prefix)
    {
        var trainer = Path.Combine(RepositoryPaths.Publish("trainer"), "K8sTraining.Trainer.dll");
        Assert.True(File.Exists(trainer), $"{trainer} is missing: run make publish");
        var ns = await NewNamespaceAsync(prefix);
        await Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "s3-credentials", NamespaceProperty = ns },
            StringData = new Dictionary<string, string>
            {
                ["AWS_ACCESS_KEY_ID"] = "S3RVER",
                ["AWS_SECRET_ACCESS_KEY"] = "S3RVER",
                ["AWS_REGION"] = "us-east-1",
                ["AWS_ENDPOINT_URL"] = S3Endpoint,
            },
        }, ns);
        return ns;
    }

    public async Task<TrainingJob> CreateJobAsync(TrainingJob job) =>
        await Client.CustomObjects.CreateNamespacedCustomObjectAsync<TrainingJob>(job, TrainingJob.KubeGroup, TrainingJob.KubeVersion, job.Metadata.NamespaceProperty, TrainingJob.KubePlural);

    public async Task<TrainingJob> GetJobAsync(string ns, string name) =>
        await Client.CustomObjects.GetNamespacedCustomObjectAsync<TrainingJob>(TrainingJob.KubeGroup, TrainingJob.KubeVersion, ns, TrainingJob.KubePlural, name);

    public async Task<IList<V1Pod>> PodsAsync(string ns) => (await Client.CoreV1.ListNamespacedPodAsync(ns)).Items;

    public async Task<IList<Corev1Event>> EventsAsync(string ns) => (await Client.CoreV1.ListNamespacedEventAsync(ns)).Items;

    public Task<TrainingJob> WaitForJobAsync(string ns, string name, Func<TrainingJob, bool> done, string what, TimeSpan? timeout = null) =>
        Eventually.GetAsync(() => GetJobAsync(ns, name), done, timeout ?? TimeSpan.FromSeconds(60), $"{ns}/{name}: {what}");

    /// <summary>A TrainingJob whose "trainer" is a shell script (for exit codes and timings that need no real training).</summary>
    public static TrainingJob ScriptJob(string ns, string name, string script, Action<TrainingJobSpec>? change = null)
    {
        var job = new TrainingJob
        {
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
            Spec = new TrainingJobSpec
            {
                Image = ScriptImage,
                Training = new TrainingSpec { Model = "mlp", Dataset = "synthetic" },
                TerminationGracePeriodSeconds = 5,
                RestartBackoffSeconds = 1,
                Env = [new V1EnvVar { Name = "TEST_SCRIPT", Value = script }],
            },
        };
        change?.Invoke(job.Spec);
        return job;
    }

    private async Task StartS3rverAsync()
    {
        S3DataDirectory = Path.Combine(_scratch, "s3");
        _s3rver = await S3rverServer.StartAsync(S3DataDirectory);
        S3Endpoint = _s3rver.EndpointUrl;
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "local cluster";
}
