using System.Text.RegularExpressions;

namespace K8sTraining.Metrics.Tests.Support;

/// <summary>One row of the metric table in README.md (the README's table).</summary>
public sealed record DocumentedMetric(string Name, string Type, IReadOnlySet<string> Labels, string Meaning)
{
    /// <summary>The series names Prometheus stores for this metric (histograms: _bucket, _sum, _count).</summary>
    public IReadOnlyList<string> SeriesNames => Type == "histogram" ? [Name + "_bucket", Name + "_sum", Name + "_count"] : [Name];

    /// <summary>The creation-time series OpenMetrics adds to counters and histograms (<c>x_total</c> -> <c>x_created</c>).</summary>
    public string? CreatedSeriesName => Type switch
    {
        "counter" => Name[..^"_total".Length] + "_created",
        "histogram" => Name + "_created",
        _ => null,
    };
}

/// <summary>Parses README.md: the metric table and the dashboard panel table.</summary>
public static partial class MetricsDoc
{
    public static IReadOnlyList<DocumentedMetric> Metrics(string? path = null) =>
        Rows(path ?? RepositoryPaths.MetricsDoc)
            .Where(cells => cells.Count == 4 && MetricName().IsMatch(cells[0]))
            .Select(cells => new DocumentedMetric(
                cells[0].Trim('`'),
                cells[1],
                cells[2].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(l => l.Trim('`')).ToHashSet(StringComparer.Ordinal),
                cells[3]))
            .ToList();

    /// <summary>Panel titles of the "What it shows" table.</summary>
    public static IReadOnlyList<string> PanelTitles(string? path = null)
    {
        var rows = Rows(path ?? RepositoryPaths.MetricsDoc).ToList();
        var header = rows.FindIndex(r => r.Count == 2 && r[0] == "Panel" && r[1] == "What it shows");
        return header < 0 ? [] : rows.Skip(header + 1).TakeWhile(r => r.Count == 2).Where(r => !r[0].StartsWith("---", StringComparison.Ordinal)).Select(r => r[0]).ToList();
    }

    private static IEnumerable<List<string>> Rows(string path) =>
        File.ReadLines(path)
            .Where(l => l.StartsWith('|') && l.TrimEnd().EndsWith('|'))
            .Select(l => l.Trim().Trim('|').Split('|').Select(c => c.Trim()).ToList());

    [GeneratedRegex("^`k8straining_[a-z0-9_]+`$")]
    private static partial Regex MetricName();
}
