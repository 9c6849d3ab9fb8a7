using System.Text.Json.Nodes;

namespace K8sTraining.LocalCluster.Controllers.Nodes;

/// <summary>Reads and writes the conditions of stored Pod and Node objects in the standard shape.</summary>
internal static class Conditions
{
    public static JsonObject? Find(JsonObject obj, string type) =>
        (obj["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(c => (string?)c["type"] == type);

    /// <summary>Sets a condition; lastTransitionTime changes only with the status. Returns whether anything changed.</summary>
    public static bool Set(JsonObject obj, string type, string status, string? reason, string? message, string now, bool probeTime = true)
    {
        if (obj["status"] is not JsonObject statusObject)
        {
            statusObject = new JsonObject();
            obj["status"] = statusObject;
        }

        if (statusObject["conditions"] is not JsonArray conditions)
        {
            conditions = new JsonArray();
            statusObject["conditions"] = conditions;
        }

        var existing = conditions.OfType<JsonObject>().FirstOrDefault(c => (string?)c["type"] == type);
        if (existing is not null && (string?)existing["status"] == status && (string?)existing["reason"] == reason && (string?)existing["message"] == message)
        {
            return false;
        }

        var condition = new JsonObject { ["type"] = type, ["status"] = status };
        if (probeTime)
        {
            condition["lastProbeTime"] = null;
        }

        condition["lastTransitionTime"] = existing is not null && (string?)existing["status"] == status
            ? existing["lastTransitionTime"]?.DeepClone()
            : now;
        if (reason is not null)
        {
            condition["reason"] = reason;
        }

        if (message is not null)
        {
            condition["message"] = message;
        }

        if (existing is null)
        {
            conditions.Add(condition);
        }
        else
        {
            conditions[conditions.IndexOf(existing)] = condition;
        }

        return true;
    }

    public static DateTimeOffset? Time(JsonNode? value) =>
        DateTimeOffset.TryParse((string?)value, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var t) ? t : null;
}
