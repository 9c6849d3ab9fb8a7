using System.Globalization;
using System.Text.RegularExpressions;

namespace K8sTraining.CheckpointSync.Tests.Support;

/// <summary>Reads one series' value from Prometheus text, with the labels it must carry.</summary>
public static partial class MetricsText
{
    /// <summary>The value of <paramref name="name"/> whose labels include every one of <paramref name="labels"/>, or null.</summary>
    public static double? Value(string text, string name, params string[] labels)
    {
        foreach (Match m in Series().Matches(text))
        {
            if (m.Groups["name"].Value == name && labels.All(l => m.Groups["labels"].Value.Contains(l, StringComparison.Ordinal)))
            {
                return double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
        }
        return null;
    }

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? (?<value>\S+)", RegexOptions.Multiline)]
    private static partial Regex Series();
}
