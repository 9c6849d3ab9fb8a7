using System.Globalization;
using System.Text.Json.Nodes;

namespace K8sTraining.LocalCluster.Patching;

/// <summary>RFC 6902 JSON patch: add, remove, replace, move, copy, test.</summary>
public static class JsonPatch
{
    public static JsonNode Apply(JsonNode document, JsonArray operations)
    {
        var doc = document.DeepClone();
        foreach (var opNode in operations)
        {
            if (opNode is not JsonObject op || (string?)op["op"] is not { } name || (string?)op["path"] is not { } path)
            {
                throw new PatchException("invalid JSON patch operation: each needs \"op\" and \"path\"");
            }

            switch (name)
            {
                case "add":
                    doc = Add(doc, path, Value(op));
                    break;
                case "remove":
                    Remove(doc, path);
                    break;
                case "replace":
                    Remove(doc, path);
                    doc = Add(doc, path, Value(op));
                    break;
                case "move":
                {
                    var from = (string?)op["from"] ?? throw new PatchException("move needs \"from\"");
                    var value = Get(doc, from);
                    Remove(doc, from);
                    doc = Add(doc, path, value);
                    break;
                }

                case "copy":
                {
                    var from = (string?)op["from"] ?? throw new PatchException("copy needs \"from\"");
                    doc = Add(doc, path, Get(doc, from)?.DeepClone());
                    break;
                }

                case "test":
                    if (!JsonNode.DeepEquals(Get(doc, path), op["value"]))
                    {
                        throw new PatchException($"testing value {path} failed: test failed");
                    }

                    break;
                default:
                    throw new PatchException($"Unexpected kind: {name}");
            }
        }

        return doc;
    }

    private static JsonNode? Value(JsonObject op) =>
        op.ContainsKey("value") ? op["value"]?.DeepClone() : throw new PatchException("operation needs \"value\"");

    private static List<string> Split(string pointer)
    {
        if (pointer.Length == 0)
        {
            return [];
        }

        if (pointer[0] != '/')
        {
            throw new PatchException($"invalid JSON pointer {pointer}");
        }

        return pointer[1..].Split('/').Select(s => s.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToList();
    }

    private static JsonNode? Get(JsonNode doc, string pointer) => GetParts(doc, Split(pointer), pointer);

    private static JsonNode? GetParts(JsonNode doc, IEnumerable<string> parts, string pointer)
    {
        JsonNode? node = doc;
        foreach (var part in parts)
        {
            node = node switch
            {
                JsonObject o when o.TryGetPropertyValue(part, out var v) => v,
                JsonArray a when int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < a.Count => a[i],
                _ => throw new PatchException($"doc is missing path: \"{pointer}\": missing value"),
            };
        }

        return node;
    }

    private static JsonNode Add(JsonNode doc, string pointer, JsonNode? value)
    {
        var parts = Split(pointer);
        if (parts.Count == 0)
        {
            return value ?? throw new PatchException("cannot replace the document with null");
        }

        var parent = GetParts(doc, parts.Take(parts.Count - 1), pointer);
        var last = parts[^1];
        switch (parent)
        {
            case JsonObject o:
                o[last] = value;
                break;
            case JsonArray a when last == "-":
                a.Add(value);
                break;
            case JsonArray a when int.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i <= a.Count:
                a.Insert(i, value);
                break;
            default:
                throw new PatchException($"doc is missing path: \"{pointer}\": missing value");
        }

        return doc;
    }

    private static void Remove(JsonNode doc, string pointer)
    {
        var parts = Split(pointer);
        if (parts.Count == 0)
        {
            throw new PatchException("cannot remove the whole document");
        }

        var parent = GetParts(doc, parts.Take(parts.Count - 1), pointer);
        var last = parts[^1];
        switch (parent)
        {
            case JsonObject o when o.ContainsKey(last):
                o.Remove(last);
                break;
            case JsonArray a when int.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < a.Count:
                a.RemoveAt(i);
                break;
            default:
                throw new PatchException($"Unable to remove nonexistent key: {last}: missing value");
        }
    }
}

/// <summary>A patch that cannot be applied to the current object.</summary>
public sealed class PatchException(string message) : Exception(message);
