using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace K8sTraining.LocalCluster.Schema;

/// <summary>
/// Numbers in a custom resource as the API server decodes them (apimachinery's unstructured JSON: an int64 when the
/// text is one, else a float64, and an error when not even a float64 holds it) and writes them back: a float64 with no
/// fraction is written as an integer (1.0 and 1e3 are stored as 1 and 1000), so a client that reads an int finds one.
/// </summary>
public static class JsonNumbers
{
    /// <summary>The largest integer a float64 holds exactly (go-openapi's maxJSONFloat): a float beyond it is no integer.</summary>
    public const double MaxJsonInteger = 9007199254740991;

    /// <summary>Go prints a float64 without an exponent below 1e21: such whole numbers are stored as integer digits.</summary>
    private const double PlainBelow = 1e21;

    /// <summary>What a JSON number decodes to: an int64, a float64, or neither (out of range).</summary>
    public static (long? Integer, double? Float) Decode(string text)
    {
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
        {
            return (l, null);
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d)
            ? (null, d)
            : (null, null);
    }

    /// <summary>
    /// Whether a number passes as a schema "integer": an int64, or a float64 that is whole and within ±(2^53 - 1)
    /// (kube-openapi's type check, which accepts 1.0 and refuses 1e20).
    /// </summary>
    public static bool IsInteger(string text) => Decode(text) switch
    {
        ({ }, _) => true,
        (_, { } d) => d == Math.Truncate(d) && Math.Abs(d) <= MaxJsonInteger,
        _ => false,
    };

    /// <summary>
    /// Rewrites every number below <paramref name="node"/> as the API server would store it; returns the text of each
    /// number no float64 holds (the server refuses the request with 400 for those), in document order.
    /// </summary>
    public static List<string> Normalize(JsonNode? node)
    {
        var outOfRange = new List<string>();
        Walk(node, outOfRange);
        return outOfRange;
    }

    private static void Walk(JsonNode? node, List<string> outOfRange)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (key, value) in o.ToList())
                {
                    if (Rewrite(value, outOfRange) is { } replacement)
                    {
                        o[key] = replacement;
                    }
                    else
                    {
                        Walk(value, outOfRange);
                    }
                }

                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    if (Rewrite(a[i], outOfRange) is { } replacement)
                    {
                        a[i] = replacement;
                    }
                    else
                    {
                        Walk(a[i], outOfRange);
                    }
                }

                break;
        }
    }

    /// <summary>The stored form of a number whose text differs from it, else null (left as it is).</summary>
    private static JsonNode? Rewrite(JsonNode? node, List<string> outOfRange)
    {
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.Number)
        {
            return null;
        }

        var text = v.ToJsonString();
        switch (Decode(text))
        {
            case ({ } l, _):
                return text == l.ToString(CultureInfo.InvariantCulture) ? null : JsonValue.Create(l);
            case (_, { } d) when d == Math.Truncate(d) && Math.Abs(d) < PlainBelow:
                var whole = decimal.Parse(d.ToString("F0", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
                return JsonValue.Create(whole);
            case (_, { }):
                return null;
            default:
                outOfRange.Add(text);
                return null;
        }
    }
}
