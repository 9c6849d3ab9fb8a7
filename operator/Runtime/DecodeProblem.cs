using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace K8sTraining.Operator.Runtime;

/// <summary>Says which field of a raw object could not be decoded, its value and what was expected, in a user's words.</summary>
public static partial class DecodeProblem
{
    public static string Describe(Exception error, JsonElement raw)
    {
        var path = error is JsonException { Path: { Length: > 0 } p } && p != "$" ? p : FindQuotedLeaf(error.Message, raw);
        var reason = Reason(error);
        if (path is null)
        {
            return reason;
        }

        if (!reason.StartsWith("is ", StringComparison.Ordinal))
        {
            reason = $"is not valid ({reason})";
        }

        var field = path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
        return Find(raw, path) is { } value
            ? $"{field}: {Render(value)} {reason}"
            : $"{field}: {reason}";
    }

    /// <summary>The exception's own words without System.Text.Json's position suffix, CLR type names made plain.</summary>
    private static string Reason(Exception error)
    {
        var message = error.Message;
        var at = message.IndexOf(" Path: ", StringComparison.Ordinal);
        if (at >= 0)
        {
            message = message[..at];
        }

        if (ConvertedTo().Match(message) is { Success: true } m)
        {
            return $"is not {Plain(m.Groups["type"].Value)}";
        }

        return message.TrimEnd('.');
    }

    private static string Plain(string clrType)
    {
        var inner = NullableOf().Match(clrType) is { Success: true } n ? n.Groups["type"].Value : clrType;
        return inner switch
        {
            "System.Int32" => "a 32-bit integer",
            "System.Int64" => "a 64-bit integer",
            "System.Int16" or "System.UInt32" or "System.UInt64" or "System.Byte" => "an integer",
            "System.Double" or "System.Single" or "System.Decimal" => "a number",
            "System.Boolean" => "true or false",
            "System.String" => "a string",
            _ when inner.Contains("List", StringComparison.Ordinal) || inner.EndsWith("[]", StringComparison.Ordinal) => "a list",
            _ when inner.Contains("Dictionary", StringComparison.Ordinal) => "a map",
            _ => $"an object ({inner[(inner.LastIndexOf('.') + 1)..]})",
        };
    }

    /// <summary>For errors that carry no path (a converter's FormatException): the one string leaf the message quotes.</summary>
    private static string? FindQuotedLeaf(string message, JsonElement raw)
    {
        var hits = new List<string>();
        Walk(raw, "$", (path, value) =>
        {
            if (value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } s
                && (message.Contains($"'{s}'", StringComparison.Ordinal) || message.Contains($"\"{s}\"", StringComparison.Ordinal)))
            {
                hits.Add(path);
            }
        });
        return hits.Count == 1 ? hits[0] : null;
    }

    private static void Walk(JsonElement node, string path, Action<string, JsonElement> leaf)
    {
        switch (node.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var p in node.EnumerateObject())
                {
                    if (path == "$" && p.Name is "metadata" or "apiVersion" or "kind")
                    {
                        continue;
                    }

                    Walk(p.Value, $"{path}.{p.Name}", leaf);
                }

                break;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in node.EnumerateArray())
                {
                    Walk(item, $"{path}[{i++}]", leaf);
                }

                break;
            default:
                leaf(path, node);
                break;
        }
    }

    /// <summary>The value at a System.Text.Json path such as <c>$.spec.tolerations[0].tolerationSeconds</c>.</summary>
    private static JsonElement? Find(JsonElement raw, string path)
    {
        var node = raw;
        foreach (Match part in PathPart().Matches(path))
        {
            if (part.Groups["name"].Success)
            {
                if (node.ValueKind != JsonValueKind.Object || !node.TryGetProperty(part.Groups["name"].Value, out node))
                {
                    return null;
                }
            }
            else
            {
                var index = int.Parse(part.Groups["index"].Value, CultureInfo.InvariantCulture);
                if (node.ValueKind != JsonValueKind.Array || index >= node.GetArrayLength())
                {
                    return null;
                }

                node = node[index];
            }
        }

        return node;
    }

    private static string Render(JsonElement value)
    {
        var text = value.ValueKind is JsonValueKind.Object or JsonValueKind.Array ? value.ValueKind.ToString().ToLowerInvariant() : value.GetRawText();
        if (text.Length <= 80)
        {
            return text;
        }

        return new StringBuilder(text, 0, 77, 80).Append("...").ToString();
    }

    [GeneratedRegex(@"could not be converted to (?<type>\S+?)\.?$")]
    private static partial Regex ConvertedTo();

    [GeneratedRegex(@"^System\.Nullable`1\[(?<type>.+)\]$")]
    private static partial Regex NullableOf();

    [GeneratedRegex(@"\.(?<name>[^.\[\]]+)|\['(?<name>[^']+)'\]|\[(?<index>\d+)\]")]
    private static partial Regex PathPart();
}
