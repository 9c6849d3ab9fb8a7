using System.Globalization;
using System.Text.Json;

namespace K8sTraining.Metrics.Tests.Support;

/// <summary>One sample of an instant query: its labels and value.</summary>
public sealed record Sample(IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>
/// A real Prometheus (Debian's /usr/bin/prometheus) on a loopback port with a temporary config and storage directory,
/// scraping the given targets every second; killed on dispose.
/// </summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    public const string Binary = "/usr/bin/prometheus";

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly ChildProcess _process;
    private readonly string _directory;

    private PrometheusServer(ChildProcess process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Url = $"http://127.0.0.1:{port}";
    }

    public string Url { get; }

    public string Output => _process.Output;

    /// <summary>Starts Prometheus scraping each (scrape job, host:port) every second, and the targets each (scrape job,
    /// file) lists (file_sd: see <see cref="WriteFileTargetsAsync"/>), and waits until it is ready.</summary>
    public static async Task<PrometheusServer> StartAsync(IEnumerable<(string Job, string Target)> targets, IEnumerable<(string Job, string File)>? fileTargets = null)
    {
        if (!File.Exists(Binary))
        {
            throw new InvalidOperationException($"{Binary} is missing: run `make deps` (apt-get install prometheus).");
        }

        var directory = Directory.CreateTempSubdirectory("k8straining-prometheus-").FullName;
        var config = "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n  evaluation_interval: 1s\nscrape_configs:\n"
            + string.Concat(targets.GroupBy(t => t.Job).Select(g =>
                $"  - job_name: {g.Key}\n    static_configs:\n      - targets: [{string.Join(", ", g.Select(t => $"'{t.Target}'"))}]\n"))
            + string.Concat((fileTargets ?? []).Select(f =>
                $"  - job_name: {f.Job}\n    file_sd_configs:\n      - files: ['{f.File}']\n        refresh_interval: 1s\n"));
        var configPath = Path.Combine(directory, "prometheus.yml");
        await File.WriteAllTextAsync(configPath, config);
        var port = FreePort.Next();
        var process = ChildProcess.Start(Binary, [
            $"--config.file={configPath}",
            $"--storage.tsdb.path={Path.Combine(directory, "data")}",
            $"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ]);
        var server = new PrometheusServer(process, directory, port);
        try
        {
            await Eventually.GetAsync(
                async () => (await Http.GetAsync($"{server.Url}/-/ready")).IsSuccessStatusCode,
                ready => ready || process.Process.HasExited,
                TimeSpan.FromSeconds(30),
                "Prometheus to be ready");
            if (process.Process.HasExited)
            {
                throw new InvalidOperationException($"Prometheus exited: {process.Output}");
            }
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    /// <summary>Replaces a file_sd file (atomically, as Prometheus asks) with one target and its labels.</summary>
    public static async Task WriteFileTargetsAsync(string file, string target, IReadOnlyDictionary<string, string> labels)
    {
        var json = JsonSerializer.Serialize(new[] { new { targets = new[] { target }, labels } });
        await File.WriteAllTextAsync(file + ".tmp", json);
        File.Move(file + ".tmp", file, overwrite: true);
    }

    /// <summary>An instant query at the current time; throws on a PromQL error.</summary>
    public async Task<IReadOnlyList<Sample>> QueryAsync(string promql)
    {
        using var response = await Http.GetAsync($"{Url}/api/v1/query?query={Uri.EscapeDataString(promql)}");
        var body = await response.Content.ReadAsStringAsync();
        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        if (root.GetProperty("status").GetString() != "success")
        {
            throw new InvalidOperationException($"Prometheus rejected `{promql}`: {body}");
        }

        var data = root.GetProperty("data");
        if (data.GetProperty("resultType").GetString() != "vector")
        {
            throw new InvalidOperationException($"`{promql}` is not an instant vector: {body}");
        }

        return data.GetProperty("result").EnumerateArray()
            .Select(r => new Sample(
                r.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? ""),
                double.Parse(r.GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture)))
            .ToList();
    }

    /// <summary>
    /// A range query, as Grafana sends for a panel: every series with its non-NaN values from <paramref name="start"/>
    /// to now at <paramref name="step"/>; throws on a PromQL error.
    /// </summary>
    public async Task<IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, IReadOnlyList<double> Values)>> QueryRangeAsync(string promql, DateTimeOffset start, TimeSpan step)
    {
        var end = DateTimeOffset.UtcNow;
        var url = $"{Url}/api/v1/query_range?query={Uri.EscapeDataString(promql)}&start={start.ToUnixTimeSeconds()}&end={end.ToUnixTimeSeconds()}&step={step.TotalSeconds.ToString(CultureInfo.InvariantCulture)}";
        using var response = await Http.GetAsync(url);
        var body = await response.Content.ReadAsStringAsync();
        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        if (root.GetProperty("status").GetString() != "success")
        {
            throw new InvalidOperationException($"Prometheus rejected `{promql}`: {body}");
        }

        return root.GetProperty("data").GetProperty("result").EnumerateArray()
            .Select(r => (
                (IReadOnlyDictionary<string, string>)r.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? ""),
                (IReadOnlyList<double>)r.GetProperty("values").EnumerateArray()
                    .Select(v => double.Parse(v[1].GetString()!, CultureInfo.InvariantCulture))
                    .Where(v => !double.IsNaN(v))
                    .ToList()))
            .ToList();
    }

    /// <summary>Every series whose name matches the regex, as label sets (including __name__).</summary>
    public async Task<IReadOnlyList<IReadOnlyDictionary<string, string>>> SeriesAsync(string nameRegex)
    {
        var match = Uri.EscapeDataString($"{{__name__=~\"{nameRegex}\"}}");
        var body = await Http.GetStringAsync($"{Url}/api/v1/series?match[]={match}");
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("data").EnumerateArray()
            .Select(s => (IReadOnlyDictionary<string, string>)s.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? ""))
            .ToList();
    }

    /// <summary>Health of every scrape target ("up", "down", "unknown") by scrape job.</summary>
    public async Task<IReadOnlyList<(string Job, string Health)>> TargetsAsync()
    {
        var body = await Http.GetStringAsync($"{Url}/api/v1/targets");
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("data").GetProperty("activeTargets").EnumerateArray()
            .Select(t => (t.GetProperty("labels").GetProperty("job").GetString() ?? "", t.GetProperty("health").GetString() ?? ""))
            .ToList();
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
