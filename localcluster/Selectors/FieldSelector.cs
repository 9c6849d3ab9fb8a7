using System.Text.Json;
using System.Text.Json.Nodes;
using K8sTraining.LocalCluster.Api;

namespace K8sTraining.LocalCluster.Selectors;

/// <summary>
/// A field selector (=, ==, != joined by commas). Any dotted field path is evaluated against the object, which is a
/// superset of the fields a real server indexes (metadata.name, metadata.namespace, spec.nodeName, status.phase,
/// involvedObject.*, type ...).
/// </summary>
public sealed class FieldSelector
{
    private readonly List<(string Path, string Value, bool Equal)> _terms = [];

    public bool IsEmpty => _terms.Count == 0;

    public static FieldSelector Parse(string? text)
    {
        var selector = new FieldSelector();
        if (string.IsNullOrWhiteSpace(text))
        {
            return selector;
        }

        foreach (var raw in text.Split(','))
        {
            var term = raw.Trim();
            if (term.Length == 0)
            {
                continue;
            }

            var parsed = false;
            foreach (var op in new[] { "!=", "==", "=" })
            {
                var at = term.IndexOf(op, StringComparison.Ordinal);
                if (at > 0)
                {
                    selector._terms.Add((term[..at].Trim(), term[(at + op.Length)..].Trim(), op != "!="));
                    parsed = true;
                    break;
                }
            }

            if (!parsed)
            {
                throw ApiException.BadRequest($"invalid selector: '{text}'; can't understand '{term}'");
            }
        }

        return selector;
    }

    public bool Matches(JsonObject obj) => _terms.All(t => (ValueAt(obj, t.Path) == t.Value) == t.Equal);

    /// <summary>The value a field selector compares: strings as they are, numbers and booleans as text, absent as "".</summary>
    public static string ValueAt(JsonObject obj, string path)
    {
        JsonNode? node = obj;
        foreach (var part in path.Split('.'))
        {
            node = node is JsonObject o ? o[part] : null;
            if (node is null)
            {
                return "";
            }
        }

        return node is JsonValue v
            ? v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : v.ToJsonString()
            : "";
    }
}
