using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace K8sTraining.LocalCluster.Api;

/// <summary>One validation failure, rendered the way k8s.io/apimachinery's field.Error renders itself.</summary>
public sealed record FieldError(string Reason, string Field, string Text)
{
    public static FieldError Required(string field, string detail = "") =>
        new("FieldValueRequired", field, detail.Length == 0 ? "Required value" : $"Required value: {detail}");

    public static FieldError Invalid(string field, JsonNode? value, string detail) =>
        new("FieldValueInvalid", field, $"Invalid value: {Render(value)}: {detail}");

    public static FieldError InvalidText(string field, string renderedValue, string detail) =>
        new("FieldValueInvalid", field, $"Invalid value: {renderedValue}: {detail}");

    public static FieldError NotSupported(string field, JsonNode? value, IEnumerable<JsonNode?> supported) =>
        new("FieldValueNotSupported", field,
            $"Unsupported value: {Render(value)}: supported values: {string.Join(", ", supported.Select(Render))}");

    public static FieldError Forbidden(string field, string detail) => new("FieldValueForbidden", field, $"Forbidden: {detail}");

    public static FieldError Unknown(string field) => new("FieldValueUnknown", field, "field not declared in schema");

    public string CauseMessage => Text;

    public override string ToString() => $"{Field}: {Text}";

    /// <summary>Go's %#v-like rendering used in "Invalid value: X".</summary>
    public static string Render(JsonNode? value) => value switch
    {
        null => "null",
        JsonValue v when v.GetValueKind() == JsonValueKind.String => "\"" + v.GetValue<string>() + "\"",
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => v.ToJsonString(),
        JsonValue v => v.ToJsonString(),
        JsonObject => "map[string]interface {}{...}",
        JsonArray a => "[]interface {}{" + a.Count.ToString(CultureInfo.InvariantCulture) + " items}",
        _ => value.ToJsonString(),
    };
}
