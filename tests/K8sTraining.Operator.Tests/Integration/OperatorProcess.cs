using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace K8sTraining.Operator.Tests.Integration;

/// <summary>The published operator (.local/publish/operator) as a real process with its own HTTP port.</summary>
public sealed class OperatorProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };

    private OperatorProcess(Process process, int port, string identity)
    {
        _process = process;
        Port = port;
        Identity = identity;
    }

    public int Port { get; }

    public string Identity { get; }

    public bool HasExited => _process.HasExited;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static OperatorProcess Start(string kubeconfig, string ns, string identity, params string[] extra)
    {
        var dll = Path.Combine(RepositoryPaths.Publish("operator"), "K8sTraining.Operator.dll");
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException($"{dll} is missing: run `make publish` (or dotnet publish operator/K8sTraining.Operator.csproj -c Release -o .local/publish/operator).");
        }

        var port = FreePort();
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { dll, "--kubeconfig", kubeconfig, "--namespaces", ns, "--identity", identity, "--http-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture) }.Concat(extra))
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("operator did not start");
        var op = new OperatorProcess(process, port, identity);
        process.OutputDataReceived += (_, e) => op.Append(e.Data);
        process.ErrorDataReceived += (_, e) => op.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return op;
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
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM and wait: the graceful path.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync();
        }

        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
