using System.Diagnostics;
using K8sTraining.LocalCluster.Hosting;
using k8s;
using k8s.Models;

namespace K8sTraining.LocalCluster.Tests.ApiServer;

/// <summary>One in-process control plane (no node agent) per test class, with the test CRD registered through the API.</summary>
public class ControlPlaneFixture : IAsyncLifetime
{
    private readonly string _cacheDir = Directory.CreateTempSubdirectory("kubectl-cache-").FullName;
    private int _namespaces;

    public LocalControlPlane Plane { get; private set; } = null!;

    public Kubernetes Client { get; private set; } = null!;

    protected virtual LocalControlPlaneOptions Options => new()
    {
        BookmarkInterval = TimeSpan.FromMilliseconds(300),
    };

    public async Task InitializeAsync()
    {
        Plane = await LocalControlPlane.StartAsync(Options);
        Client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(Plane.KubeconfigPath));
        var crd = KubernetesYaml.Deserialize<V1CustomResourceDefinition>(TestManifests.WidgetCrd);
        await Client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(crd);
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Plane.DisposeAsync();
        Directory.Delete(_cacheDir, recursive: true);
    }

    /// <summary>A fresh namespace, so tests sharing the control plane do not see each other's objects.</summary>
    public async Task<string> NewNamespaceAsync()
    {
        var name = $"t{Interlocked.Increment(ref _namespaces)}-{Guid.NewGuid().ToString("N")[..6]}";
        await Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = name } });
        return name;
    }

    /// <summary>Runs the real kubectl against this control plane.</summary>
    public Task<KubectlResult> KubectlWithInputAsync(string? stdin, params string[] args) =>
        Kubectl.RunAsync(Plane.KubeconfigPath, _cacheDir, stdin, args);

    public Task<KubectlResult> KubectlAsync(params string[] args) => KubectlWithInputAsync(null, args);
}

/// <summary>The real kubectl (from PATH: make deps installs it in .local/bin).</summary>
public static class Kubectl
{
    public static async Task<KubectlResult> RunAsync(string kubeconfig, string cacheDir, string? stdin, params string[] args)
    {
        var psi = new ProcessStartInfo("kubectl")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("--kubeconfig");
        psi.ArgumentList.Add(kubeconfig);
        psi.ArgumentList.Add("--cache-dir");
        psi.ArgumentList.Add(cacheDir);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return new KubectlResult(process.ExitCode, await stdout, await stderr);
    }
}

public sealed record KubectlResult(int ExitCode, string Stdout, string Stderr)
{
    public KubectlResult Succeeded()
    {
        Assert.True(ExitCode == 0, $"kubectl failed ({ExitCode}): {Stderr}\n{Stdout}");
        return this;
    }

    public override string ToString() => $"exit {ExitCode}\nstdout: {Stdout}\nstderr: {Stderr}";
}
