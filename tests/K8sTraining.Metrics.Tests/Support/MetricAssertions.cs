namespace K8sTraining.Metrics.Tests.Support;

/// <summary>Compares what Prometheus stored with the documented table.</summary>
public static class MetricAssertions
{
    /// <summary>Labels every scraped series has besides the documented ones: the scrape's and the exporter's own.</summary>
    public static readonly IReadOnlySet<string> InfrastructureLabels = new HashSet<string>(StringComparer.Ordinal) { "__name__", "job", "instance", "otel_scope_name", "otel_scope_version", "le" };

    /// <summary>Fails unless every documented metric has series in Prometheus, each with exactly the documented labels.</summary>
    public static void AllExportedWithDocumentedLabels(IEnumerable<DocumentedMetric> documented, IReadOnlyList<IReadOnlyDictionary<string, string>> series)
    {
        var problems = new List<string>();
        foreach (var metric in documented)
        {
            foreach (var name in metric.SeriesNames)
            {
                var found = series.Where(s => s["__name__"] == name).ToList();
                if (found.Count == 0)
                {
                    problems.Add($"{name}: not exported");
                    continue;
                }

                foreach (var s in found)
                {
                    var labels = s.Keys.Where(k => !InfrastructureLabels.Contains(k)).Order(StringComparer.Ordinal).ToList();
                    if (!labels.SequenceEqual(metric.Labels.Order(StringComparer.Ordinal)))
                    {
                        problems.Add($"{name}: labels [{string.Join(", ", labels)}], documented [{string.Join(", ", metric.Labels.Order(StringComparer.Ordinal))}]");
                        break;
                    }

                    if (name.EndsWith("_bucket", StringComparison.Ordinal) != s.ContainsKey("le"))
                    {
                        problems.Add($"{name}: le label {(s.ContainsKey("le") ? "unexpected" : "missing")}");
                        break;
                    }
                }
            }
        }

        Assert.True(problems.Count == 0, "Exported metrics differ from README.md:\n" + string.Join("\n", problems));
    }

    /// <summary>Fails when Prometheus holds a k8straining_* metric family the table does not document.</summary>
    public static void NoneUndocumented(IEnumerable<DocumentedMetric> documented, IReadOnlyList<IReadOnlyDictionary<string, string>> series, string prefix)
    {
        var known = documented.SelectMany(m => m.CreatedSeriesName is { } created ? m.SeriesNames.Append(created) : m.SeriesNames).ToHashSet(StringComparer.Ordinal);
        var undocumented = series.Select(s => s["__name__"]).Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && !known.Contains(n)).Distinct().Order(StringComparer.Ordinal).ToList();
        Assert.True(undocumented.Count == 0, "Exported but not in README.md: " + string.Join(", ", undocumented));
    }
}
