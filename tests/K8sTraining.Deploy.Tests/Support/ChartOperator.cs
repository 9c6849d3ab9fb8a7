using System.Diagnostics;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using Xunit.Abstractions;

namespace K8sTraining.Deploy.Tests.Support;

/// <summary>
/// The published operator started with the container args the chart's Deployment gives it (so a flag the chart passes
/// and the operator does not know fails here), against a kubeconfig shaped like an in-cluster service account's.
/// </summary>
public sealed partial class ChartOperator : IAsyncDisposable
{
    public const string ServiceAccount = "kt-k8s-training";
    private readonly Process _process;
    private readonly TemporaryFile _kubeconfig;
    private readonly ITestOutputHelper _output;
    private readonly TaskCompletionSource<int> _port = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _stopping;

    private ChartOperator(Process process, TemporaryFile kubeconfig, ITestOutputHelper output)
    {
        _process = process;
        _kubeconfig = kubeconfig;
        _output = output;
    }

    public static string Dll => RepositoryPaths.Of(".local", "publish", "operator", "K8sTraining.Operator.dll");

    /// <summary>True once the operator has exited on its own (not stopped by the test).</summary>
    public bool Crashed => !_stopping && _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>The port it serves /healthz, /readyz and /metrics on (the chart's port is replaced by a free one).</summary>
    public Task<int> HttpPort => _port.Task;

    public static ChartOperator Start(RenderedChart chart, Uri server, ITestOutputHelper output)
    {
        Assert.True(File.Exists(Dll), $"{Dll} is missing: run `make publish` (make test does) first");
        var kubeconfig = new TemporaryFile(".kubeconfig", ServiceAccountKubeconfig(server));
        var startInfo = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { Dll, "--kubeconfig", kubeconfig.Path }.Concat(ChartArguments(chart)))
        {
            startInfo.ArgumentList.Add(arg);
        }

        var started = new ChartOperator(Process.Start(startInfo)!, kubeconfig, output);
        started._process.OutputDataReceived += (_, e) => started.OnLine(e.Data);
        started._process.ErrorDataReceived += (_, e) => started.OnLine(e.Data);
        started._process.BeginOutputReadLine();
        started._process.BeginErrorReadLine();
        return started;
    }

    /// <summary>The container args of the chart's Deployment, as the kubelet would expand them.</summary>
    public static List<string> ChartArguments(RenderedChart chart)
    {
        var deployment = KubernetesYaml.Deserialize<V1Deployment>(chart.Single("Deployment").Yaml);
        var args = deployment.Spec.Template.Spec.Containers.Single().Args.Select(a => a.Replace("$(POD_NAME)", "kt-k8s-training-0")).ToList();
        args[args.IndexOf("--http-port") + 1] = "0"; // a free port: tests run side by side
        return args;
    }

    public async Task StopAsync()
    {
        _stopping = true;
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync(CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process.Dispose();
        _kubeconfig.Dispose();
    }

    /// <summary>A kubeconfig as an in-cluster service account has it: a bearer token (the local double accepts any).</summary>
    private static string ServiceAccountKubeconfig(Uri server) => $$"""
        apiVersion: v1
        kind: Config
        clusters:
          - name: local
            cluster: {server: "{{server.ToString().TrimEnd('/')}}"}
        users:
          - name: system:serviceaccount:{{Helm.ReleaseNamespace}}:{{ServiceAccount}}
            user: {token: deploy-tests}
        contexts:
          - name: local
            context: {cluster: local, user: "system:serviceaccount:{{Helm.ReleaseNamespace}}:{{ServiceAccount}}"}
        current-context: local
        """;

    private void OnLine(string? line)
    {
        if (line is null)
        {
            _port.TrySetException(new InvalidOperationException("the operator closed its output before it listened"));
            return;
        }

        if (Listening().Match(line) is { Success: true } m)
        {
            _port.TrySetResult(int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        }

        try
        {
            _output.WriteLine($"operator: {line}");
        }
        catch (InvalidOperationException)
        {
            // the test has finished
        }
    }

    [GeneratedRegex(@"Now listening on: http://[^:]+:(\d+)")]
    private static partial Regex Listening();
}
