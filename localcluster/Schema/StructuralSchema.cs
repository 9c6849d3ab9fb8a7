using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using K8sTraining.LocalCluster.Api;

namespace K8sTraining.LocalCluster.Schema;

/// <summary>
/// A CRD's structural openAPIV3Schema at work on a custom resource, in the order the API server runs it:
/// prune unknown fields (or report them under fieldValidation=Strict), drop nulls where not nullable, apply defaults,
/// then validate (type, required, enum, minimum/maximum, exclusive bounds, multipleOf, minLength/maxLength, pattern,
/// minItems/maxItems, uniqueItems, minProperties/maxProperties, items, properties, additionalProperties,
/// x-kubernetes-preserve-unknown-fields, x-kubernetes-int-or-string, nullable, format date-time/date,
/// x-kubernetes-list-type map/set).
/// </summary>
public static partial class StructuralSchema
{
    /// <summary>Prunes, defaults and validates <paramref name="obj"/> in place; returns the errors found.</summary>
    public static List<FieldError> Admit(JsonObject obj, JsonObject schema, bool strictUnknownFields)
    {
        var errors = new List<FieldError>();
        var unknown = new List<string>();
        foreach (var (key, value) in obj.ToList())
        {
            if (key is "apiVersion" or "kind" or "metadata")
            {
                continue;
            }

            var propSchema = PropertySchema(schema, key);
            if (propSchema is null)
            {
                if (!PreservesUnknown(schema))
                {
                    unknown.Add(key);
                    obj.Remove(key);
                }

                continue;
            }

            if (value is null && !IsNullable(propSchema))
            {
                obj.Remove(key);
                continue;
            }

            Prepare(value, propSchema, key, unknown);
        }

        ApplyDefaults(obj, schema, skipMetadata: true);
        foreach (var (key, value) in obj)
        {
            if (key is "apiVersion" or "kind" or "metadata")
            {
                continue;
            }

            if (PropertySchema(schema, key) is { } propSchema)
            {
                Validate(value, propSchema, key, errors);
            }
        }

        if (schema["required"] is JsonArray required)
        {
            foreach (var r in required.Select(n => (string)n!))
            {
                if (r is not ("apiVersion" or "kind" or "metadata") && !obj.ContainsKey(r))
                {
                    errors.Add(FieldError.Required(r));
                }
            }
        }

        if (strictUnknownFields)
        {
            errors.InsertRange(0, unknown.Select(FieldError.Unknown));
        }

        return errors;
    }

    private static JsonObject? PropertySchema(JsonObject schema, string key)
    {
        if (schema["properties"] is JsonObject props && props[key] is JsonObject p)
        {
            return p;
        }

        return schema["additionalProperties"] switch
        {
            JsonObject a => a,
            JsonValue v when v.GetValueKind() == JsonValueKind.True => new JsonObject { ["x-kubernetes-preserve-unknown-fields"] = true },
            _ => null,
        };
    }

    private static bool PreservesUnknown(JsonObject schema) =>
        schema["x-kubernetes-preserve-unknown-fields"] is JsonValue v && v.GetValueKind() == JsonValueKind.True;

    private static bool IsNullable(JsonObject schema) =>
        schema["nullable"] is JsonValue v && v.GetValueKind() == JsonValueKind.True;

    /// <summary>Prunes unknown fields and non-nullable nulls below <paramref name="node"/>, in place.</summary>
    private static void Prepare(JsonNode? node, JsonObject schema, string path, List<string> unknown)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (key, value) in o.ToList())
                {
                    var child = PropertySchema(schema, key);
                    if (child is null)
                    {
                        if (!PreservesUnknown(schema))
                        {
                            unknown.Add($"{path}.{key}");
                            o.Remove(key);
                        }

                        continue;
                    }

                    if (value is null && !IsNullable(child))
                    {
                        o.Remove(key);
                        continue;
                    }

                    Prepare(value, child, $"{path}.{key}", unknown);
                }

                break;
            case JsonArray a when schema["items"] is JsonObject itemSchema:
                for (var i = 0; i < a.Count; i++)
                {
                    Prepare(a[i], itemSchema, $"{path}[{i}]", unknown);
                }

                break;
        }
    }

    /// <summary>Fills absent properties that have a default, in every object present in the document.</summary>
    public static void ApplyDefaults(JsonObject obj, JsonObject schema, bool skipMetadata = false)
    {
        if (schema["properties"] is JsonObject props)
        {
            foreach (var (key, propSchema) in props)
            {
                if (skipMetadata && key == "metadata")
                {
                    continue;
                }

                if (propSchema is JsonObject ps && !obj.ContainsKey(key) && ps.ContainsKey("default"))
                {
                    obj[key] = ps["default"]?.DeepClone();
                }
            }
        }

        foreach (var (key, value) in obj)
        {
            if (skipMetadata && key is "metadata" or "apiVersion" or "kind")
            {
                continue;
            }

            var child = PropertySchema(schema, key);
            if (child is null)
            {
                continue;
            }

            if (value is JsonObject co)
            {
                ApplyDefaults(co, child);
            }
            else if (value is JsonArray arr && child["items"] is JsonObject itemSchema)
            {
                foreach (var item in arr.OfType<JsonObject>())
                {
                    ApplyDefaults(item, itemSchema);
                }
            }
        }
    }

    private static void Validate(JsonNode? node, JsonObject schema, string path, List<FieldError> errors)
    {
        if (node is null)
        {
            if (!IsNullable(schema) && (string?)schema["type"] is { } t)
            {
                errors.Add(FieldError.InvalidText(path, "\"null\"", $"{path} in body must be of type {t}: \"null\""));
            }

            return;
        }

        var type = (string?)schema["type"];
        var intOrString = schema["x-kubernetes-int-or-string"] is JsonValue ios && ios.GetValueKind() == JsonValueKind.True;
        var actual = TypeName(node);
        if (intOrString)
        {
            if (actual is not ("integer" or "string"))
            {
                errors.Add(FieldError.InvalidText(path, $"\"{actual}\"", $"{path} in body must be of type integer,string: \"{actual}\""));
                return;
            }
        }
        else if (type is not null && !(type == actual || (type == "number" && actual == "integer")))
        {
            errors.Add(FieldError.InvalidText(path, $"\"{actual}\"", $"{path} in body must be of type {type}: \"{actual}\""));
            return;
        }

        if (schema["enum"] is JsonArray allowed && !allowed.Any(a => JsonNode.DeepEquals(a, node)))
        {
            errors.Add(FieldError.NotSupported(path, node, allowed));
        }

        switch (node)
        {
            case JsonValue v when v.GetValueKind() == JsonValueKind.Number:
                ValidateNumber(v, schema, path, errors);
                break;
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                ValidateString(v.GetValue<string>(), v, schema, path, errors);
                ValidateFormat(v.GetValue<string>(), schema, path, errors);
                break;
            case JsonArray a:
                ValidateArray(a, schema, path, errors);
                ValidateListType(a, schema, path, errors);
                break;
            case JsonObject o:
                ValidateObject(o, schema, path, errors);
                break;
        }
    }

    /// <summary>
    /// A JSON number as a double, whatever backs the node: parsed JSON holds a JsonElement, but an object built in C#
    /// (in-process callers) holds an int, long or decimal, which GetValue&lt;double&gt; refuses.
    /// </summary>
    private static double Number(JsonValue v) =>
        v.TryGetValue<double>(out var d) ? d : double.Parse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture);

    private static long Count(JsonValue v) =>
        v.TryGetValue<long>(out var l) ? l : (long)Number(v);

    private static void ValidateNumber(JsonValue v, JsonObject schema, string path, List<FieldError> errors)
    {
        var x = Number(v);
        var exclusiveMin = schema["exclusiveMinimum"] is JsonValue em && em.GetValueKind() == JsonValueKind.True;
        var exclusiveMax = schema["exclusiveMaximum"] is JsonValue eM && eM.GetValueKind() == JsonValueKind.True;
        if (schema["minimum"] is JsonValue min)
        {
            var m = Number(min);
            if (exclusiveMin ? x <= m : x < m)
            {
                var rel = exclusiveMin ? "greater than" : "greater than or equal to";
                errors.Add(FieldError.Invalid(path, v, $"{path} in body should be {rel} {Num(m)}"));
            }
        }

        if (schema["maximum"] is JsonValue max)
        {
            var m = Number(max);
            if (exclusiveMax ? x >= m : x > m)
            {
                var rel = exclusiveMax ? "less than" : "less than or equal to";
                errors.Add(FieldError.Invalid(path, v, $"{path} in body should be {rel} {Num(m)}"));
            }
        }

        if (schema["multipleOf"] is JsonValue mo)
        {
            var m = Number(mo);
            if (m > 0 && Math.Abs((x / m) - Math.Round(x / m)) > 1e-9)
            {
                errors.Add(FieldError.Invalid(path, v, $"{path} in body should be a multiple of {Num(m)}"));
            }
        }
    }

    private static void ValidateString(string s, JsonValue v, JsonObject schema, string path, List<FieldError> errors)
    {
        var length = new StringInfoLength(s).Value;
        if (schema["maxLength"] is JsonValue max && length > Count(max))
        {
            errors.Add(FieldError.Invalid(path, v, $"{path} in body should be at most {Count(max)} chars long"));
        }

        if (schema["minLength"] is JsonValue min && length < Count(min))
        {
            errors.Add(FieldError.Invalid(path, v, $"{path} in body should be at least {Count(min)} chars long"));
        }

        if ((string?)schema["pattern"] is { } pattern && !Regex.IsMatch(s, pattern, RegexOptions.None, TimeSpan.FromSeconds(1)))
        {
            errors.Add(FieldError.Invalid(path, v, $"{path} in body should match '{pattern}'"));
        }
    }

    private static void ValidateArray(JsonArray a, JsonObject schema, string path, List<FieldError> errors)
    {
        if (schema["maxItems"] is JsonValue max && a.Count > Count(max))
        {
            errors.Add(new FieldError("FieldValueTooMany", path, $"Too many: {a.Count}: must have at most {Count(max)} items"));
        }

        if (schema["minItems"] is JsonValue min && a.Count < Count(min))
        {
            errors.Add(FieldError.Invalid(path, a, $"{path} in body should have at least {Count(min)} items"));
        }

        if (schema["uniqueItems"] is JsonValue u && u.GetValueKind() == JsonValueKind.True)
        {
            // Every later copy of an item is reported once per earlier copy, as before, in one pass.
            var copies = new Dictionary<string, int>(StringComparer.Ordinal);
            for (var j = 0; j < a.Count; j++)
            {
                var key = Canonical(a[j]);
                var earlier = copies.GetValueOrDefault(key);
                for (var k = 0; k < earlier; k++)
                {
                    errors.Add(new FieldError("FieldValueDuplicate", $"{path}[{j}]", $"Duplicate value: {FieldError.Render(a[j])}"));
                }

                copies[key] = earlier + 1;
            }
        }

        if (schema["items"] is JsonObject itemSchema)
        {
            for (var i = 0; i < a.Count; i++)
            {
                Validate(a[i], itemSchema, $"{path}[{i}]", errors);
            }
        }
    }

    /// <summary>
    /// The string formats the API server checks (kube-openapi's strfmt): date-time (RFC 3339) and date, reported as
    /// "must be of type date-time" with the value, as a real server reports them.
    /// </summary>
    private static void ValidateFormat(string s, JsonObject schema, string path, List<FieldError> errors)
    {
        var format = (string?)schema["format"];
        var valid = format switch
        {
            "date-time" => IsDateTime(s),
            "date" => DateOnly.TryParseExact(s, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _),
            _ => true,
        };
        if (!valid)
        {
            errors.Add(FieldError.InvalidText(path, $"\"{s}\"", $"{path} in body must be of type {format}: \"{s}\""));
        }
    }

    private static bool IsDateTime(string s)
    {
        var m = DateTimePattern().Match(s);
        if (!m.Success)
        {
            return false;
        }

        // The pattern fixes the shape; parsing checks the calendar (no February 30th, no hour 25).
        return DateTime.TryParseExact(m.Groups["date"].Value + "T" + m.Groups["time"].Value, "yyyy-MM-ddTHH:mm:ss",
            CultureInfo.InvariantCulture, DateTimeStyles.None, out _);
    }

    /// <summary>
    /// x-kubernetes-list-type: map lists have unique x-kubernetes-list-map-keys (each item must carry them); set lists
    /// have unique items. Duplicates are reported as the real server's listtype validation reports them.
    /// </summary>
    private static void ValidateListType(JsonArray a, JsonObject schema, string path, List<FieldError> errors)
    {
        switch ((string?)schema["x-kubernetes-list-type"])
        {
            case "map" when schema["x-kubernetes-list-map-keys"] is JsonArray keyNodes:
                var keys = keyNodes.Select(k => (string)k!).ToList();
                var seen = new HashSet<string>(StringComparer.Ordinal);
                for (var i = 0; i < a.Count; i++)
                {
                    if (a[i] is not JsonObject item)
                    {
                        continue;
                    }

                    // A missing key is the schema's to report: a CRD's list-map keys must be required or defaulted, so
                    // reporting it here too said "Required value" twice, which the real server does not.
                    if (keys.Any(k => !item.ContainsKey(k)))
                    {
                        continue;
                    }

                    var key = new JsonObject();
                    foreach (var k in keys)
                    {
                        key[k] = item[k]?.DeepClone();
                    }

                    if (!seen.Add(Canonical(key)))
                    {
                        errors.Add(new FieldError("FieldValueDuplicate", $"{path}[{i}]", $"Duplicate value: {GoMap(key)}"));
                    }
                }

                break;
            case "set":
                var members = new HashSet<string>(StringComparer.Ordinal);
                for (var i = 0; i < a.Count; i++)
                {
                    if (!members.Add(Canonical(a[i])))
                    {
                        errors.Add(new FieldError("FieldValueDuplicate", $"{path}[{i}]", $"Duplicate value: {FieldError.Render(a[i])}"));
                    }
                }

                break;
        }
    }

    /// <summary>
    /// A text equal for equal JSON values (object keys sorted, numbers by value): duplicates are found with a hash set
    /// in one pass. Comparing every pair took seconds for a list of 20,000 items, and the store is locked meanwhile.
    /// </summary>
    private static string Canonical(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject o => "{" + string.Join(",", o.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => JsonValue.Create(p.Key).ToJsonString() + ":" + Canonical(p.Value))) + "}",
        JsonArray arr => "[" + string.Join(",", arr.Select(Canonical)) + "]",
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => "n" + Number(v).ToString("R", CultureInfo.InvariantCulture),
        JsonValue v => v.ToJsonString(),
        _ => node.ToJsonString(),
    };

    /// <summary>Go's %#v of a map[string]interface{} of scalars: map[string]interface {}{"name":"a"}.</summary>
    private static string GoMap(JsonObject o) =>
        "map[string]interface {}{" + string.Join(", ", o.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"\"{p.Key}\":{FieldError.Render(p.Value)}")) + "}";

    [GeneratedRegex(@"^(?<date>\d{4}-\d{2}-\d{2})[Tt ](?<time>\d{2}:\d{2}:\d{2})(?<fraction>\.\d+)?([Zz]|[+-]\d{2}:?\d{2})?\z")]
    private static partial Regex DateTimePattern();

    private static void ValidateObject(JsonObject o, JsonObject schema, string path, List<FieldError> errors)
    {
        if (schema["required"] is JsonArray required)
        {
            foreach (var r in required.Select(n => (string)n!))
            {
                if (!o.ContainsKey(r))
                {
                    errors.Add(FieldError.Required($"{path}.{r}"));
                }
            }
        }

        if (schema["maxProperties"] is JsonValue max && o.Count > Count(max))
        {
            errors.Add(new FieldError("FieldValueTooMany", path, $"Too many: {o.Count}: must have at most {Count(max)} items"));
        }

        if (schema["minProperties"] is JsonValue min && o.Count < Count(min))
        {
            errors.Add(FieldError.Invalid(path, o, $"{path} in body should have at least {Count(min)} properties"));
        }

        foreach (var (key, value) in o)
        {
            if (PropertySchema(schema, key) is { } child)
            {
                Validate(value, child, $"{path}.{key}", errors);
            }
        }
    }

    private static string TypeName(JsonNode node) => node switch
    {
        JsonObject => "object",
        JsonArray => "array",
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => "string",
            JsonValueKind.True or JsonValueKind.False => "boolean",
            JsonValueKind.Number => IsIntegral(v) ? "integer" : "number",
            _ => "null",
        },
        _ => "null",
    };

    /// <summary>An integer as kube-openapi's type check sees one: an int64, or a whole float64 within 2^53 (so 1.0 is one, 1e20 is not).</summary>
    private static bool IsIntegral(JsonValue v) => JsonNumbers.IsInteger(v.ToJsonString());

    private static string Num(double d) => d.ToString("R", CultureInfo.InvariantCulture);

    private readonly record struct StringInfoLength(string S)
    {
        public long Value => new StringInfo(S).LengthInTextElements;
    }
}
