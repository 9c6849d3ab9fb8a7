using K8sTraining.LocalCluster.Hosting;
using K8sTraining.Operator.Api;
using k8s;
using k8s.Models;

namespace K8sTraining.Operator.Tests.Integration;

/// <summary>
/// One local control plane (API server double + node agent running pods as local processes) shared by the
/// integration tests, with the TrainingJob CRD applied and a test image `k8straining.test/script:*` that runs
/// `$TEST_SCRIPT` with /bin/sh, plus an s3rver for checkpoints (<see cref="LocalTestCluster"/>). Each test works in its
/// own namespace.
/// </summary>
public class ClusterFixture : IAsyncLifetime
{
    public const string ScriptImage = LocalTestCluster.ScriptImage;

    private LocalTestCluster _cluster = null!;

    public LocalTestCluster Cluster => _cluster;

    public LocalControlPlane Plane => _cluster.Plane;

    public IKubernetes Client => _cluster.Client;

    public string S3Endpoint => _cluster.S3Endpoint;

    public string S3DataDirectory => _cluster.S3DataDirectory;

    /// <summary>Where the node agents keep their pods (<c>nodes/&lt;node&gt;/pods/...</c>: logs, termination files).</summary>
    public string StateDirectory => _cluster.StateDirectory;

    /// <summary>The control plane's options: one node with a real cluster's timings unless a subclass says otherwise.</summary>
    protected virtual LocalControlPlaneOptions Configure(LocalControlPlaneOptions options) => options;

    public virtual async Task InitializeAsync() =>
        _cluster = await LocalTestCluster.StartAsync(new LocalTestClusterOptions { Configure = Configure });

    public virtual async Task DisposeAsync() => await _cluster.DisposeAsync();

    /// <summary>The real kubectl against this cluster: (exit code, stdout, stderr).</summary>
    public Task<(int ExitCode, string Stdout, string Stderr)> KubectlAsync(params string[] args) => _cluster.KubectlAsync(args);

    /// <summary>The real kubectl reading <paramref name="stdin"/> (for <c>apply -f -</c>): (exit code, stdout, stderr).</summary>
    public Task<(int ExitCode, string Stdout, string Stderr)> KubectlWithInputAsync(string? stdin, params string[] args) => _cluster.KubectlWithInputAsync(stdin, args);

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
    public string TrainerLogPath(string ns, string pod) => _cluster.TrainerLogPath(ns, pod);

    /// <summary>A fresh namespace for one test.</summary>
    public Task<string> NewNamespaceAsync(string prefix) => _cluster.NewNamespaceAsync(prefix);

    /// <summary>A fresh namespace holding the s3-credentials Secret for the test S3 server; the trainer must be published.</summary>
    public Task<string> NewNamespaceWithS3CredentialsAsync(string prefix) => _cluster.NewNamespaceWithS3CredentialsAsync(prefix);

    public Task<TrainingJob> CreateJobAsync(TrainingJob job) => _cluster.CreateJobAsync(job);

    public Task<TrainingJob> GetJobAsync(string ns, string name) => _cluster.GetJobAsync(ns, name);

    public Task<IList<V1Pod>> PodsAsync(string ns) => _cluster.PodsAsync(ns);

    public Task<IList<Corev1Event>> EventsAsync(string ns) => _cluster.EventsAsync(ns);

    public Task<TrainingJob> WaitForJobAsync(string ns, string name, Func<TrainingJob, bool> done, string what, TimeSpan? timeout = null) =>
        _cluster.WaitForJobAsync(ns, name, done, what, timeout);

    /// <summary>A TrainingJob whose "trainer" is a shell script (for exit codes and timings that need no real training).</summary>
    public static TrainingJob ScriptJob(string ns, string name, string script, Action<TrainingJobSpec>? change = null) =>
        LocalTestCluster.ScriptJob(ns, name, script, change);
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "local cluster";
}
