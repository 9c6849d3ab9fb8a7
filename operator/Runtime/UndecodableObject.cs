using System.Text.Json;

namespace K8sTraining.Operator.Runtime;

/// <summary>
/// An object the cache holds but cannot turn into its typed model (a value of the wrong type inside a field the schema
/// lets through). It is kept aside, raw, so the operator can report on it while every other object goes on.
/// </summary>
public sealed record UndecodableObject(string Namespace, string Name, string? Uid, long? Generation, string? ResourceVersion, JsonElement Raw, string Problem)
{
    public string Key => $"{Namespace}/{Name}";

    /// <summary>Reads the identity from the raw metadata and describes <paramref name="error"/> with the field it names.</summary>
    public static UndecodableObject From(JsonElement raw, Exception error)
    {
        var metadata = raw.TryGetProperty("metadata", out var m) && m.ValueKind == JsonValueKind.Object ? m : default;
        return new UndecodableObject(
            Text(metadata, "namespace") ?? "",
            Text(metadata, "name") ?? "",
            Text(metadata, "uid"),
            metadata.ValueKind == JsonValueKind.Object && metadata.TryGetProperty("generation", out var g) && g.TryGetInt64(out var generation) ? generation : null,
            Text(metadata, "resourceVersion"),
            raw,
            DecodeProblem.Describe(error, raw));
    }

    /// <summary>namespace/name of a raw object, the cache key.</summary>
    public static string KeyOf(JsonElement raw)
    {
        var metadata = raw.TryGetProperty("metadata", out var m) && m.ValueKind == JsonValueKind.Object ? m : default;
        return $"{Text(metadata, "namespace")}/{Text(metadata, "name")}";
    }

    public static string? ResourceVersionOf(JsonElement raw) =>
        raw.TryGetProperty("metadata", out var m) && m.ValueKind == JsonValueKind.Object ? Text(m, "resourceVersion") : null;

    private static string? Text(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
