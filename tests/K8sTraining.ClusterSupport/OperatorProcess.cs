using System.Net;
using System.Text.Json;
using K8sTraining.TestSupport;

namespace K8sTraining.ClusterSupport;

/// <summary>The published operator (.local/publish/operator) as a real process with its own HTTP port.</summary>
public sealed class OperatorProcess : IAsyncDisposable
{
    private readonly ChildProcess _process;
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };

    private OperatorProcess(ChildProcess process, int port, string identity)
    {
        _process = process;
        Port = port;
        Identity = identity;
    }

    public int Port { get; }

    public string Identity { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>The process id (for /proc readings).</summary>
    public int Pid => _process.Id;

    public string Output => _process.Output;

    public static OperatorProcess Start(string kubeconfig, string ns, string identity, params string[] extra)
    {
        var dll = RepositoryPaths.Published("operator", "K8sTraining.Operator.dll");
        var port = FreePort();
        var process = ChildProcess.Start("dotnet", [dll, "--kubeconfig", kubeconfig, "--namespaces", ns, "--identity", identity, "--http-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. extra]);
        return new OperatorProcess(process, port, identity);
    }

    public async Task<JsonElement?> LeaderInfoAsync()
    {
        try
        {
            var text = await Http.GetStringAsync($"http://127.0.0.1:{Port}/leader");
            return JsonDocument.Parse(text).RootElement.Clone();
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>The Prometheus text of /metrics, or null when the operator does not answer.</summary>
    public async Task<string?> MetricsAsync()
    {
        try
        {
            return await Http.GetStringAsync($"http://127.0.0.1:{Port}/metrics");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>The resident set size in MiB (VmRSS of /proc/PID/status), or null once the process is gone.</summary>
    public double? RssMiB()
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    var kib = long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
                    return kib / 1024.0;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
        }
        return null;
    }

    public async Task<HttpStatusCode?> GetStatusAsync(string path)
    {
        try
        {
            using var response = await Http.GetAsync($"http://127.0.0.1:{Port}{path}");
            return response.StatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>Waits until the operator leads (or runs without election) with synced caches.</summary>
    public Task WaitReadyAndLeadingAsync(TimeSpan? timeout = null) =>
        Eventually.GetAsync(LeaderInfoAsync, i => i is { } e && e.GetProperty("isLeader").GetBoolean() && e.GetProperty("cachesSynced").GetBoolean(), timeout ?? TimeSpan.FromSeconds(30), $"operator {Identity} to lead with synced caches");

    /// <summary>SIGKILL: no chance to clean up, as a node crash or OOM kill.</summary>
    public Task KillAsync() => _process.KillAsync();

    /// <summary>SIGTERM and wait: the graceful path.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            _process.SendSigterm();
        }

        return await _process.WaitForExitAsync(timeout);
    }

    public ValueTask DisposeAsync() => _process.DisposeAsync();

    /// <summary>A loopback port nobody listens on right now (<see cref="TestSupport.FreePort.Next"/>).</summary>
    public static int FreePort() => K8sTraining.TestSupport.FreePort.Next();
}
