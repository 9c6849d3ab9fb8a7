using System.Text.Json.Nodes;

namespace K8sTraining.LocalCluster.Controllers.Nodes;

/// <summary>A Node's taint, as in <c>spec.taints</c>.</summary>
public sealed record Taint(string Key, string? Value, string Effect, DateTimeOffset? TimeAdded = null)
{
    public const string NoSchedule = "NoSchedule";
    public const string NoExecute = "NoExecute";
    public const string PreferNoSchedule = "PreferNoSchedule";

    /// <summary>The node lifecycle controller's taint for a node whose kubelet stopped posting status.</summary>
    public const string Unreachable = "node.kubernetes.io/unreachable";

    /// <summary>The node lifecycle controller's taint for a node whose kubelet posts Ready=False.</summary>
    public const string NotReady = "node.kubernetes.io/not-ready";

    public static IReadOnlyList<Taint> Of(JsonObject node) =>
        (node["spec"]?["taints"] as JsonArray)?.OfType<JsonObject>()
            .Select(t => new Taint(
                (string?)t["key"] ?? "",
                (string?)t["value"],
                (string?)t["effect"] ?? "",
                DateTimeOffset.TryParse((string?)t["timeAdded"], System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var at) ? at : null))
            .ToList() ?? [];

    public override string ToString() => $"{{{Key}: {Value}}}";
}

/// <summary>A pod's toleration, as in <c>spec.tolerations</c>.</summary>
public sealed record Toleration(string? Key, string? Operator, string? Value, string? Effect, long? TolerationSeconds = null)
{
    public static IReadOnlyList<Toleration> Of(JsonObject pod) =>
        (pod["spec"]?["tolerations"] as JsonArray)?.OfType<JsonObject>()
            .Select(t => new Toleration((string?)t["key"], (string?)t["operator"], (string?)t["value"], (string?)t["effect"], (long?)t["tolerationSeconds"]))
            .ToList() ?? [];

    /// <summary>ToleratesTaint of k8s.io/api/core/v1: effect empty or equal; Exists matches any value (and an empty key any
    /// key); Equal (the default) needs the same key and value.</summary>
    public bool Tolerates(Taint taint)
    {
        if (!string.IsNullOrEmpty(Effect) && Effect != taint.Effect)
        {
            return false;
        }

        if (!string.IsNullOrEmpty(Key) && Key != taint.Key)
        {
            return false;
        }

        return Operator switch
        {
            "Exists" => true,
            "Equal" or "" or null => !string.IsNullOrEmpty(Key) && (Value ?? "") == (taint.Value ?? ""),
            _ => false,
        };
    }
}
