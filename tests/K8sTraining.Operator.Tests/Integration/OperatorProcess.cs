using System.Net;
using System.Text.Json;

namespace K8sTraining.Operator.Tests.Integration;

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
    public static int FreePort() => TestSupport.FreePort.Next();
}
