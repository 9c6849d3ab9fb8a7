using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace K8sTraining.Metrics.Tests.Support;

/// <summary>One query of one panel.</summary>
public sealed record PanelQuery(string Panel, string RefId, string Expression);

/// <summary>The Grafana dashboard shipped in the chart, read as JSON.</summary>
public sealed partial class Dashboard(JsonObject json)
{
    public JsonObject Json { get; } = json;

    public static Dashboard Load() => new(JsonNode.Parse(File.ReadAllText(RepositoryPaths.Dashboard))!.AsObject());

    public IReadOnlyList<JsonObject> Panels => Json["panels"]!.AsArray().Select(p => p!.AsObject()).Where(p => (string?)p["type"] != "row").ToList();

    public IReadOnlyList<JsonObject> Variables => Json["templating"]!["list"]!.AsArray().Select(v => v!.AsObject()).ToList();

    public IReadOnlyList<PanelQuery> Queries => Panels
        .SelectMany(p => p["targets"]!.AsArray().Select(t => new PanelQuery((string)p["title"]!, (string)t!["refId"]!, (string)t["expr"]!)))
        .ToList();

    /// <summary>
    /// What Grafana sends for a query: template variables and interval macros replaced. A regex matcher (=~) gets the
    /// value as Grafana formats a single selected value for Prometheus: regex-escaped.
    /// </summary>
    public static string Render(string expression, string @namespace, string job, string rateInterval, string range) =>
        expression
            .Replace("$__rate_interval", rateInterval, StringComparison.Ordinal)
            .Replace("$__range", range, StringComparison.Ordinal)
            .Replace("$namespace", Regex.Escape(@namespace), StringComparison.Ordinal)
            .Replace("$job", Regex.Escape(job), StringComparison.Ordinal);

    /// <summary>The k8straining_* metric families a query reads (histogram series suffixes removed).</summary>
    public static IEnumerable<string> MetricsIn(string expression) =>
        MetricReference().Matches(expression).Select(m => HistogramSuffix().Replace(m.Value, ""));

    [GeneratedRegex("k8straining_[a-z0-9_]+")]
    private static partial Regex MetricReference();

    [GeneratedRegex("_(bucket|sum|count)$")]
    private static partial Regex HistogramSuffix();
}
