using System.Text.Json.Nodes;

namespace K8sTraining.LocalCluster.Api;

/// <summary>An error the API server answers as a metav1.Status with the given HTTP code and reason.</summary>
public sealed class ApiException(int code, string reason, string message, JsonObject? details = null) : Exception(message)
{
    public int Code { get; } = code;

    public string Reason { get; } = reason;

    public JsonObject? Details { get; } = details;

    public JsonObject ToStatus() => Status.Failure(Code, Reason, Message, Details);

    public static ApiException NotFound(string groupResource, string name, string group, string resource) =>
        new(404, "NotFound", $"{groupResource} \"{name}\" not found", Status.Details(name, group, resource));

    public static ApiException NotFoundPath() =>
        new(404, "NotFound", "the server could not find the requested resource", new JsonObject());

    public static ApiException AlreadyExists(string groupResource, string name, string group, string resource) =>
        new(409, "AlreadyExists", $"{groupResource} \"{name}\" already exists", Status.Details(name, group, resource));

    public static ApiException Conflict(string groupResource, string name, string group, string resource, string why) =>
        new(409, "Conflict", $"Operation cannot be fulfilled on {groupResource} \"{name}\": {why}", Status.Details(name, group, resource));

    public static ApiException StaleResourceVersion(string groupResource, string name, string group, string resource) =>
        Conflict(groupResource, name, group, resource,
            "the object has been modified; please apply your changes to the latest version and try again");

    public static ApiException BadRequest(string message) => new(400, "BadRequest", message);

    public static ApiException MethodNotAllowed() =>
        new(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", new JsonObject());

    public static ApiException Expired(string message) => new(410, "Expired", message);

    public static ApiException UnsupportedMediaType(string contentType, IEnumerable<string> accepted) =>
        new(415, "UnsupportedMediaType",
            $"the body of the request was in an unknown format - accepted media types include: {string.Join(", ", accepted)}");

    public static ApiException Forbidden(string groupResource, string name, string group, string resource, string why) =>
        new(403, "Forbidden", $"{groupResource} \"{name}\" is forbidden: {why}", Status.Details(name, group, resource));

    public static ApiException Invalid(string qualifiedKind, string name, string group, string kind, IReadOnlyList<FieldError> errors)
    {
        var rendered = errors.Select(e => e.ToString()).ToList();
        var summary = rendered.Count == 1 ? rendered[0] : "[" + string.Join(", ", rendered) + "]";
        var details = Status.Details(name, group, kind);
        var causes = new JsonArray();
        foreach (var e in errors)
        {
            causes.Add(new JsonObject { ["reason"] = e.Reason, ["message"] = e.CauseMessage, ["field"] = e.Field });
        }

        details["causes"] = causes;
        return new ApiException(422, "Invalid", $"{qualifiedKind} \"{name}\" is invalid: {summary}", details);
    }
}

/// <summary>metav1.Status bodies.</summary>
public static class Status
{
    public static JsonObject Failure(int code, string reason, string message, JsonObject? details) => new()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = "Failure",
        ["message"] = message,
        ["reason"] = reason,
        ["details"] = details?.DeepClone(),
        ["code"] = code,
    };

    public static JsonObject Success(int code, JsonObject? details) => new()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = "Success",
        ["details"] = details,
        ["code"] = code,
    };

    public static JsonObject Details(string name, string group, string kind)
    {
        var d = new JsonObject { ["name"] = name };
        if (group.Length > 0)
        {
            d["group"] = group;
        }

        d["kind"] = kind;
        return d;
    }
}
