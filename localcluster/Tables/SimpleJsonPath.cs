using System.Text.RegularExpressions;
using System.Text.Json.Nodes;

namespace K8sTraining.LocalCluster.Tables;

/// <summary>
/// The JSONPath subset printer columns use: <c>.a.b</c>, <c>.a[0]</c>, <c>.a[*].b</c>, <c>.a[?(@.type=="Ready")].status</c>,
/// with or without surrounding braces.
/// </summary>
public static partial class SimpleJsonPath
{
    public static List<JsonNode?> Evaluate(JsonNode root, string path)
    {
        var p = path.Trim();
        if (p.StartsWith('{') && p.EndsWith('}'))
        {
            p = p[1..^1];
        }

        if (p.StartsWith('$'))
        {
            p = p[1..];
        }

        var current = new List<JsonNode?> { root };
        foreach (Match m in Step().Matches(p))
        {
            var next = new List<JsonNode?>();
            foreach (var node in current)
            {
                if (m.Groups["field"].Success)
                {
                    if (node is JsonObject o && o.TryGetPropertyValue(m.Groups["field"].Value, out var v))
                    {
                        next.Add(v);
                    }
                }
                else if (m.Groups["index"].Success && node is JsonArray a)
                {
                    var i = int.Parse(m.Groups["index"].Value, System.Globalization.CultureInfo.InvariantCulture);
                    if (i < 0)
                    {
                        i += a.Count;
                    }

                    if (i >= 0 && i < a.Count)
                    {
                        next.Add(a[i]);
                    }
                }
                else if (m.Groups["star"].Success && node is JsonArray all)
                {
                    next.AddRange(all);
                }
                else if (m.Groups["ffield"].Success && node is JsonArray filtered)
                {
                    var field = m.Groups["ffield"].Value;
                    var want = m.Groups["fvalue"].Value;
                    var negate = m.Groups["fop"].Value == "!=";
                    next.AddRange(filtered.Where(e => e is JsonObject eo && (Text(eo[field]) == want) != negate));
                }
            }

            current = next;
        }

        return current;
    }

    public static string? Text(JsonNode? node) => node switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == System.Text.Json.JsonValueKind.String => v.GetValue<string>(),
        _ => node.ToJsonString(),
    };

    [GeneratedRegex("""\.(?<field>[A-Za-z0-9_\-/]+)|\[(?<index>-?\d+)\]|\[(?<star>\*)\]|\[\?\(@\.(?<ffield>[A-Za-z0-9_\-]+)\s*(?<fop>==|!=)\s*["'](?<fvalue>[^"']*)["']\)\]""")]
    private static partial Regex Step();
}
