using System.Globalization;
using System.Text;

namespace K8sTraining.Operator.Runtime;

/// <summary>One sample of the Prometheus text exposition format: name, labels, value.</summary>
public sealed record PrometheusSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>
/// Reads the Prometheus text exposition format (version 0.0.4, what a scrape without an Accept header gets): comments
/// and blank lines are skipped, label values unescaped, an optional timestamp ignored. A line it cannot read is skipped,
/// never fatal: the trainer's report is advisory.
/// </summary>
public static class PrometheusText
{
    public static IReadOnlyList<PrometheusSample> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var samples = new List<PrometheusSample>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r').Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            if (TryParseLine(line) is { } sample)
            {
                samples.Add(sample);
            }
        }

        return samples;
    }

    private static PrometheusSample? TryParseLine(string line)
    {
        var i = 0;
        while (i < line.Length && line[i] != '{' && !char.IsWhiteSpace(line[i]))
        {
            i++;
        }

        var name = line[..i];
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (true)
            {
                while (i < line.Length && (line[i] == ',' || char.IsWhiteSpace(line[i])))
                {
                    i++;
                }

                if (i >= line.Length)
                {
                    return null;
                }

                if (line[i] == '}')
                {
                    i++;
                    break;
                }

                var eq = line.IndexOf('=', i);
                if (eq < 0 || eq + 1 >= line.Length || line[eq + 1] != '"')
                {
                    return null;
                }

                var key = line[i..eq].Trim();
                var value = new StringBuilder();
                i = eq + 2;
                while (i < line.Length && line[i] != '"')
                {
                    if (line[i] == '\\' && i + 1 < line.Length)
                    {
                        i++;
                        value.Append(line[i] switch { 'n' => '\n', var c => c });
                    }
                    else
                    {
                        value.Append(line[i]);
                    }

                    i++;
                }

                if (i >= line.Length)
                {
                    return null;
                }

                i++;
                labels[key] = value.ToString();
            }
        }

        var rest = line[i..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (name.Length == 0 || rest.Length == 0)
        {
            return null;
        }

        // The invariant culture reads "NaN" and "Infinity"; Prometheus writes infinities as +Inf and -Inf.
        var number = rest[0] switch { "+Inf" => "Infinity", "-Inf" => "-Infinity", var n => n };
        return double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var v)
            ? new PrometheusSample(name, labels, v)
            : null;
    }
}
