using System.Globalization;
using System.Text;

namespace K8sTraining.Chaos.Runner;

/// <summary>The table `make chaos` ends with: one row per scenario.</summary>
public static class ResultTable
{
    public static string Format(IReadOnlyList<ScenarioResult> rows)
    {
        var header = new[] { "scenario", "runs", "interruptions", "violations", "lost/graceful (max)", "lost/hard (max, mean)", "recovery p50/p99 s", "operator RSS MiB" };
        var lines = rows.Select(r => new[]
        {
            r.Name,
            I(r.Runs),
            I(r.Interruptions),
            I(r.Violations.Count),
            r.LostGraceful.Count == 0 ? "-" : I(r.LostGraceful.Max()),
            r.LostHard.Count == 0 ? "-" : $"{I(r.LostHard.Max())}, {r.LostHard.Average().ToString("0.0", CultureInfo.InvariantCulture)}",
            r.RecoverySeconds.Count == 0 ? "-" : $"{Percentile(r.RecoverySeconds, 0.5):0.00}/{Percentile(r.RecoverySeconds, 0.99):0.00}",
            r.RssMiB is { } rss ? $"{rss.Before:0}/{rss.After:0}" : "-",
        }).ToList();
        var widths = header.Select((h, i) => Math.Max(h.Length, lines.Count == 0 ? 0 : lines.Max(l => l[i].Length))).ToArray();
        var sb = new StringBuilder();
        void Row(string[] cells) => sb.Append("| ").Append(string.Join(" | ", cells.Select((c, i) => c.PadRight(widths[i])))).Append(" |\n");
        Row(header);
        sb.Append("|-").Append(string.Join("-|-", widths.Select(w => new string('-', w)))).Append("-|\n");
        foreach (var l in lines)
        {
            Row(l);
        }
        return sb.ToString();
    }

    public static double Percentile(IReadOnlyList<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        var index = (int)Math.Ceiling(p * sorted.Length) - 1;
        return sorted[Math.Clamp(index, 0, sorted.Length - 1)];
    }

    private static string I(long v) => v.ToString(CultureInfo.InvariantCulture);
}
