using System.Globalization;
using K8sTraining.Training.Loop;

namespace K8sTraining.Training.Progress;

/// <summary>The parts of an epoch's report beyond loss and test accuracy, as one line of text for logs and the terminal.</summary>
public static class EpochReport
{
    /// <summary>
    /// For example <c>validation accuracy 0.9012; per-class accuracy (validation): 0 0.95, 1 0.88; validation.top5 0.99</c>,
    /// or empty when the epoch has none of them.
    /// </summary>
    public static string Details(EpochMetrics metrics, IReadOnlyList<string>? classNames)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var c = CultureInfo.InvariantCulture;
        var parts = new List<string>();
        if (metrics.ValidationAccuracy is { } validation)
        {
            parts.Add(string.Create(c, $"validation accuracy {validation:F4}"));
        }
        if (metrics.ClassAccuracy is { Count: > 0 } perClass)
        {
            var classes = perClass.Select((a, i) => $"{(classNames is not null && i < classNames.Count ? classNames[i] : i.ToString(c))} {(a is { } v ? v.ToString("F4", c) : "-")}");
            parts.Add($"per-class accuracy ({metrics.ClassAccuracySplit}): {string.Join(", ", classes)}");
        }
        if (metrics.Metrics is { Count: > 0 } extra)
        {
            parts.Add(string.Join(", ", extra.Select(kv => $"{kv.Key} {kv.Value.ToString("G6", c)}")));
        }
        return string.Join("; ", parts);
    }
}
