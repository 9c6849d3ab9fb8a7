using System.Diagnostics;
using K8sTraining.LocalCluster.Hosting;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Runtime;
using K8sTraining.TestSupport;
using k8s;
using k8s.Models;

namespace K8sTraining.ClusterSupport;

/// <summary>
/// One local control plane (API server double + node agents running pods as local processes) with the TrainingJob CRD
/// applied, a script image `k8straining.test/script:*` that runs `$TEST_SCRIPT` with /bin/sh, and an S3 endpoint for
/// checkpoints. The integration tests' ClusterFixture and the chaos suite's cluster scenarios both stand on it.
/// </summary>
public sealed class LocalTestCluster : IAsyncDisposable
{
    public const string ScriptImage = "k8straining.test/script:1";

    private readonly bool _ownsScratch;
    private S3rverServer? _s3rver;

    private LocalTestCluster(string scratch, bool ownsScratch, LocalTestClusterOptions options)
    {
        Scratch = scratch;
        _ownsScratch = ownsScratch;
        S3SecretKey = options.S3SecretKey;
    }

    public LocalControlPlane Plane { get; private set; } = null!;

    public IKubernetes Client { get; private set; } = null!;

    public string KubeconfigPath => Plane.KubeconfigPath;

    public string Scratch { get; }

    public string S3Endpoint { get; private set; } = "";

    /// <summary>The private s3rver's data directory (empty when the S3 endpoint was given).</summary>
    public string S3DataDirectory { get; private set; } = "";

    public string S3SecretKey { get; }

    /// <summary>Where the node agents keep their pods (<c>nodes/&lt;node&gt;/pods/...</c>: logs, termination files).</summary>
    public string StateDirectory => Path.Combine(Scratch, "state");

    public static async Task<LocalTestCluster> StartAsync(LocalTestClusterOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new LocalTestClusterOptions();
        var owns = options.ScratchDirectory is null;
        var scratch = options.ScratchDirectory ?? Directory.CreateTempSubdirectory("k8straining-cluster-").FullName;
        Directory.CreateDirectory(scratch);
        var cluster = new LocalTestCluster(scratch, owns, options);
        try
        {
            await cluster.InitializeAsync(options, cancellationToken);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private async Task InitializeAsync(LocalTestClusterOptions options, CancellationToken cancellationToken)
    {
        var table = Path.Combine(Scratch, "images.yaml");
        var text = await File.ReadAllTextAsync(Path.Combine(RepositoryPaths.Root, "localcluster", "images.yaml"), cancellationToken);
        text = text.TrimEnd() + """


              - patterns: ["k8straining.test/script:*"]
                entrypoint: ["/bin/sh", "-c", "eval \"$TEST_SCRIPT\"", "script"]
                cmd: []

            """;
        await File.WriteAllTextAsync(table, text, cancellationToken);
        var planeOptions = new LocalControlPlaneOptions
        {
            StartNodeAgent = true,
            RepositoryRoot = RepositoryPaths.Root,
            StateDirectory = StateDirectory,
            // Everything the plane gave each agent (its name, HostIP, directory, heartbeat timings) is kept.
            ConfigureNodeAgent = o => o with
            {
                ClientConfiguration = OperatorServiceCollectionExtensions.LoadKubeconfig(o.KubeconfigPath!),
                ImageTablePath = table,
            },
        };
        Plane = await LocalControlPlane.StartAsync(options.Configure?.Invoke(planeOptions) ?? planeOptions, cancellationToken);
        Client = new Kubernetes(OperatorServiceCollectionExtensions.LoadKubeconfig(Plane.KubeconfigPath));
        var crd = KubernetesYaml.Deserialize<V1CustomResourceDefinition>(await File.ReadAllTextAsync(Path.Combine(RepositoryPaths.Root, "crds", "trainingjobs.k8straining.io.yaml"), cancellationToken));
        await Client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(crd, cancellationToken: cancellationToken);
        await Eventually.GetAsync(
            async () => (await Client.CustomObjects.ListClusterCustomObjectAsync<TrainingJobList>(TrainingJob.KubeGroup, TrainingJob.KubeVersion, TrainingJob.KubePlural, cancellationToken: cancellationToken)).Items.Count,
            _ => true,
            TimeSpan.FromSeconds(10),
            "the TrainingJob API to be served");
        if (options.S3Endpoint is { } endpoint)
        {
            S3Endpoint = endpoint;
        }
        else
        {
            S3DataDirectory = Path.Combine(Scratch, "s3");
            _s3rver = await S3rverServer.StartAsync(S3DataDirectory, cancellationToken);
            S3Endpoint = _s3rver.EndpointUrl;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_s3rver is not null)
        {
            await _s3rver.DisposeAsync();
        }

        Client?.Dispose();
        if (Plane is not null)
        {
            await Plane.DisposeAsync();
        }

        if (_ownsScratch)
        {
            try
            {
                Directory.Delete(Scratch, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>The real kubectl against this cluster, reading <paramref name="stdin"/> when given: (exit code, stdout, stderr).</summary>
    public async Task<(int ExitCode, string Stdout, string Stderr)> KubectlWithInputAsync(string? stdin, params string[] args)
    {
        var psi = new ProcessStartInfo("kubectl") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin is not null, UseShellExecute = false };
        foreach (var a in new[] { "--kubeconfig", Plane.KubeconfigPath, "--cache-dir", Path.Combine(Scratch, "kubectl-cache") }.Concat(args))
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

    /// <summary>The real kubectl against this cluster: (exit code, stdout, stderr).</summary>
    public Task<(int ExitCode, string Stdout, string Stderr)> KubectlAsync(params string[] args) => KubectlWithInputAsync(null, args);

    /// <summary>The log file of a pod's trainer container on the node agent (its first run, restart count 0).</summary>
    public string TrainerLogPath(string ns, string pod) =>
        Directory.EnumerateFiles(StateDirectory, "0.log", SearchOption.AllDirectories)
            .Single(f => f.Contains($"{ns}_{pod}_", StringComparison.Ordinal) && f.EndsWith(Path.Combine("containers", "trainer", "0.log"), StringComparison.Ordinal));

    /// <summary>A fresh namespace.</summary>
    public async Task<string> NewNamespaceAsync(string prefix)
    {
        var name = $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 9, 63)];
        await Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = name } });
        return name;
    }

    /// <summary>A fresh namespace holding the s3-credentials Secret for the cluster's S3 endpoint; the trainer must be published.</summary>
    public async Task<string> NewNamespaceWithS3CredentialsAsync(string prefix)
    {
        var trainer = Path.Combine(RepositoryPaths.Publish("trainer"), "K8sTraining.Trainer.dll");
        if (!File.Exists(trainer))
        {
            throw new InvalidOperationException($"{trainer} is missing: run make publish");
        }

        var ns = await NewNamespaceAsync(prefix);
        await Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "s3-credentials", NamespaceProperty = ns },
            StringData = new Dictionary<string, string>
            {
                ["AWS_ACCESS_KEY_ID"] = S3rverServer.AccessKey,
                ["AWS_SECRET_ACCESS_KEY"] = S3SecretKey,
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

    public async Task<IList<TrainingJob>> JobsAsync(string ns) =>
        (await Client.CustomObjects.ListNamespacedCustomObjectAsync<TrainingJobList>(TrainingJob.KubeGroup, TrainingJob.KubeVersion, ns, TrainingJob.KubePlural)).Items;

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
}
