using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using K8sTraining.Operator.Api;

namespace K8sTraining.Operator.Runtime;

/// <summary>
/// The status of a TrainingJob the operator cannot decode, worked out on its raw JSON (the typed model is exactly what
/// fails): condition SpecValid=False reason Undecodable, observedGeneration from the raw metadata, other conditions
/// kept. Once per generation: an object that already carries this condition for its generation needs no write.
/// </summary>
public static class UndecodableJobStatus
{
    public static string Message(UndecodableObject job) =>
        $"The operator cannot read this TrainingJob: {job.Problem}. It leaves the job alone (creates and deletes no pod) "
        + $"until the field is fixed: correct it with `kubectl edit trainingjob {job.Name} -n {job.Namespace}`, or delete the job and apply it again.";

    /// <summary>The raw object with its status updated, or null when the condition is already there for this generation.</summary>
    public static JsonObject? Next(UndecodableObject job, DateTimeOffset now)
    {
        var message = Message(job);
        var obj = JsonNode.Parse(job.Raw.GetRawText()) as JsonObject ?? [];
        var status = obj["status"] as JsonObject;
        if (status is null)
        {
            status = [];
            obj["status"] = status;
        }

        var conditions = status["conditions"] as JsonArray;
        if (conditions is null)
        {
            conditions = [];
            status["conditions"] = conditions;
        }

        var existing = conditions.OfType<JsonObject>().FirstOrDefault(c => (string?)c["type"] == ConditionTypes.SpecValid);
        if (existing is not null
            && (string?)existing["status"] == "False"
            && (string?)existing["reason"] == ConditionReasons.Undecodable
            && (string?)existing["message"] == message
            && ObservedGeneration(existing) == job.Generation)
        {
            return null;
        }

        var transition = existing is not null && (string?)existing["status"] == "False" && existing["lastTransitionTime"] is JsonValue kept
            ? kept.DeepClone()
            : JsonValue.Create(now.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
        var condition = new JsonObject
        {
            ["type"] = ConditionTypes.SpecValid,
            ["status"] = "False",
            ["reason"] = ConditionReasons.Undecodable,
            ["message"] = message,
            ["lastTransitionTime"] = transition,
        };
        if (job.Generation is { } generation)
        {
            condition["observedGeneration"] = generation;
        }

        if (existing is null)
        {
            conditions.Add(condition);
        }
        else
        {
            conditions[conditions.IndexOf(existing)] = condition;
        }

        return obj;
    }

    private static long? ObservedGeneration(JsonObject condition) =>
        condition["observedGeneration"] is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<long>(out var g) ? g : null;
}
