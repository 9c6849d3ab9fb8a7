using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using K8sTraining.LocalCluster.Api;

namespace K8sTraining.LocalCluster.Admission;

/// <summary>
/// The parts of the real server's ValidatePodCreate that clients trip over: container and volume names, images, env and
/// envFrom, ports, resource quantities (requests within limits), volume mounts, tolerations, the node selector and the
/// service account name, with the real field paths and messages.
/// </summary>
public static partial class PodValidation
{
    private static readonly string[] SupportedProtocols = ["SCTP", "TCP", "UDP"];

    /// <summary>The errors in <paramref name="spec"/>; a malformed quantity throws 400 as the real decoder does.</summary>
    public static List<FieldError> Validate(JsonObject spec)
    {
        var errors = new List<FieldError>();
        var volumes = Volumes(spec, errors);
        var names = new HashSet<string>(StringComparer.Ordinal);
        if (spec["containers"] is not JsonArray { Count: > 0 } containers)
        {
            errors.Add(FieldError.Required("spec.containers"));
        }
        else
        {
            Containers(containers, "spec.containers", names, volumes, errors);
        }

        if (spec["initContainers"] is JsonArray inits)
        {
            Containers(inits, "spec.initContainers", names, volumes, errors);
        }

        var restart = (string?)spec["restartPolicy"];
        if (restart is not (null or "Always" or "OnFailure" or "Never"))
        {
            errors.Add(FieldError.NotSupported("spec.restartPolicy", restart, ["Always", "OnFailure", "Never"]));
        }

        if ((string?)spec["serviceAccountName"] is { Length: > 0 } sa)
        {
            errors.AddRange(ObjectMetaValidation.IsDns1123Subdomain(sa).Select(m => FieldError.Invalid("spec.serviceAccountName", sa, m)));
        }

        errors.AddRange(ObjectMetaValidation.Labels(spec["nodeSelector"] as JsonObject, "spec.nodeSelector"));
        Tolerations(spec["tolerations"] as JsonArray, errors);
        return errors;
    }

    private static HashSet<string> Volumes(JsonObject spec, List<FieldError> errors)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        if (spec["volumes"] is not JsonArray volumes)
        {
            return names;
        }

        for (var i = 0; i < volumes.Count; i++)
        {
            var name = (string?)volumes[i]?["name"];
            var path = $"spec.volumes[{i}].name";
            if (string.IsNullOrEmpty(name))
            {
                errors.Add(FieldError.Required(path));
            }
            else
            {
                errors.AddRange(ObjectMetaValidation.IsDns1123Label(name).Select(m => FieldError.Invalid(path, name, m)));
                if (!names.Add(name))
                {
                    errors.Add(Duplicate(path, name));
                }
            }
        }

        return names;
    }

    private static void Containers(JsonArray containers, string listPath, HashSet<string> names, HashSet<string> volumes, List<FieldError> errors)
    {
        for (var i = 0; i < containers.Count; i++)
        {
            var path = $"{listPath}[{i}]";
            if (containers[i] is not JsonObject c)
            {
                errors.Add(FieldError.Required(path));
                continue;
            }

            var name = (string?)c["name"];
            if (string.IsNullOrEmpty(name))
            {
                errors.Add(FieldError.Required($"{path}.name"));
            }
            else
            {
                errors.AddRange(ObjectMetaValidation.IsDns1123Label(name).Select(m => FieldError.Invalid($"{path}.name", name, m)));
                if (!names.Add(name))
                {
                    errors.Add(Duplicate($"{path}.name", name));
                }
            }

            if (string.IsNullOrEmpty((string?)c["image"]))
            {
                errors.Add(FieldError.Required($"{path}.image"));
            }

            Env(c["env"] as JsonArray, $"{path}.env", errors);
            EnvFrom(c["envFrom"] as JsonArray, $"{path}.envFrom", errors);
            Ports(c["ports"] as JsonArray, $"{path}.ports", errors);
            Resources(c["resources"] as JsonObject, $"{path}.resources", errors);
            Mounts(c["volumeMounts"] as JsonArray, $"{path}.volumeMounts", volumes, errors);
        }
    }

    private static void Env(JsonArray? env, string listPath, List<FieldError> errors)
    {
        for (var i = 0; i < (env?.Count ?? 0); i++)
        {
            var path = $"{listPath}[{i}]";
            var item = env![i] as JsonObject ?? new JsonObject();
            var name = (string?)item["name"];
            if (string.IsNullOrEmpty(name))
            {
                errors.Add(FieldError.Required($"{path}.name"));
            }
            else
            {
                errors.AddRange(ObjectMetaValidation.IsEnvVarName(name).Select(m => FieldError.Invalid($"{path}.name", name, m)));
            }

            if (item["valueFrom"] is not JsonObject from)
            {
                continue;
            }

            var sources = new[] { "fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef" }.Where(from.ContainsKey).ToList();
            if (!string.IsNullOrEmpty((string?)item["value"]))
            {
                errors.Add(FieldError.Invalid($"{path}.valueFrom", "", "may not be specified when `value` is not empty"));
            }
            else if (sources.Count == 0)
            {
                errors.Add(FieldError.Invalid($"{path}.valueFrom", "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"));
            }
            else if (sources.Count > 1)
            {
                errors.Add(FieldError.Invalid($"{path}.valueFrom", "", "may not have more than one field specified at a time"));
            }

            foreach (var kind in new[] { "configMapKeyRef", "secretKeyRef" })
            {
                if (from[kind] is JsonObject selector)
                {
                    var refName = (string?)selector["name"] ?? "";
                    errors.AddRange(ObjectMetaValidation.IsDns1123Subdomain(refName).Select(m => FieldError.Invalid($"{path}.valueFrom.{kind}.name", refName, m)));
                    if (string.IsNullOrEmpty((string?)selector["key"]))
                    {
                        errors.Add(FieldError.Required($"{path}.valueFrom.{kind}.key"));
                    }
                }
            }

            if (from["fieldRef"] is JsonObject fieldRef && string.IsNullOrEmpty((string?)fieldRef["fieldPath"]))
            {
                errors.Add(FieldError.Required($"{path}.valueFrom.fieldRef.fieldPath"));
            }

            if (from["resourceFieldRef"] is JsonObject resourceRef && string.IsNullOrEmpty((string?)resourceRef["resource"]))
            {
                errors.Add(FieldError.Required($"{path}.valueFrom.resourceFieldRef.resource"));
            }
        }
    }

    private static void EnvFrom(JsonArray? envFrom, string listPath, List<FieldError> errors)
    {
        for (var i = 0; i < (envFrom?.Count ?? 0); i++)
        {
            var path = $"{listPath}[{i}]";
            var item = envFrom![i] as JsonObject ?? new JsonObject();
            if ((string?)item["prefix"] is { Length: > 0 } prefix)
            {
                errors.AddRange(ObjectMetaValidation.IsEnvVarName(prefix).Select(m => FieldError.Invalid($"{path}.prefix", prefix, m)));
            }

            var sources = new[] { "configMapRef", "secretRef" }.Where(item.ContainsKey).ToList();
            if (sources.Count != 1)
            {
                errors.Add(FieldError.Invalid(path, "", sources.Count == 0
                    ? "must specify one of: `configMapRef` or `secretRef`"
                    : "may not have more than one field specified at a time"));
            }

            foreach (var kind in sources)
            {
                var refName = (string?)item[kind]?["name"] ?? "";
                errors.AddRange(ObjectMetaValidation.IsDns1123Subdomain(refName).Select(m => FieldError.Invalid($"{path}.{kind}.name", refName, m)));
            }
        }
    }

    private static void Ports(JsonArray? ports, string listPath, List<FieldError> errors)
    {
        for (var i = 0; i < (ports?.Count ?? 0); i++)
        {
            var path = $"{listPath}[{i}]";
            var port = ports![i] as JsonObject ?? new JsonObject();
            CheckPort(port["containerPort"], $"{path}.containerPort", required: true, errors);
            CheckPort(port["hostPort"], $"{path}.hostPort", required: false, errors);
            if ((string?)port["protocol"] is { } protocol && !SupportedProtocols.Contains(protocol))
            {
                errors.Add(FieldError.NotSupported($"{path}.protocol", protocol, SupportedProtocols.Select(p => (JsonNode?)p)));
            }

            if ((string?)port["name"] is { Length: > 0 } name && !PortName().IsMatch(name))
            {
                errors.Add(FieldError.Invalid($"{path}.name", name, "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-) and at most 15 characters"));
            }
        }
    }

    private static void CheckPort(JsonNode? value, string path, bool required, List<FieldError> errors)
    {
        if (value is null)
        {
            if (required)
            {
                errors.Add(FieldError.Required(path));
            }

            return;
        }

        var n = value is JsonValue v && v.TryGetValue<double>(out var d) ? (long)d : -1;
        if (n is < 1 or > 65535 && !(n == 0 && !required))
        {
            errors.Add(FieldError.Invalid(path, value, "must be between 1 and 65535, inclusive"));
        }
    }

    private static void Resources(JsonObject? resources, string path, List<FieldError> errors)
    {
        var limits = Quantities(resources?["limits"] as JsonObject);
        var requests = Quantities(resources?["requests"] as JsonObject);
        foreach (var (name, (text, value)) in requests)
        {
            if (limits.TryGetValue(name, out var limit) && value > limit.Value)
            {
                errors.Add(FieldError.Invalid($"{path}.requests", text, $"must be less than or equal to {name} limit of {limit.Text}"));
            }
        }
    }

    private static Dictionary<string, (string Text, decimal Value)> Quantities(JsonObject? list)
    {
        var result = new Dictionary<string, (string, decimal)>(StringComparer.Ordinal);
        foreach (var (name, node) in list ?? [])
        {
            var text = node is JsonValue v && v.TryGetValue<string>(out var s) ? s : node?.ToJsonString() ?? "";
            result[name] = (text, ParseQuantity(text));
        }

        return result;
    }

    /// <summary>resource.Quantity's syntax; a value outside it fails the request's decoding (400), as on a real server.</summary>
    public static decimal ParseQuantity(string text)
    {
        var m = QuantityPattern().Match(text);
        if (!m.Success || !decimal.TryParse(m.Groups["number"].Value, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
        {
            throw ApiException.BadRequest("Pod in version \"v1\" cannot be handled as a Pod: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
        }

        var suffix = m.Groups["suffix"].Value;
        double factor = suffix switch
        {
            "" => 1,
            "n" => 1e-9,
            "u" => 1e-6,
            "m" => 1e-3,
            "k" => 1e3,
            "M" => 1e6,
            "G" => 1e9,
            "T" => 1e12,
            "P" => 1e15,
            "E" => 1e18,
            "Ki" => 1024d,
            "Mi" => Math.Pow(1024, 2),
            "Gi" => Math.Pow(1024, 3),
            "Ti" => Math.Pow(1024, 4),
            "Pi" => Math.Pow(1024, 5),
            "Ei" => Math.Pow(1024, 6),
            _ when suffix[0] is 'e' or 'E' && int.TryParse(suffix[1..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var exp) && exp is > -28 and < 28 => Math.Pow(10, exp),
            _ => throw ApiException.BadRequest("Pod in version \"v1\" cannot be handled as a Pod: unable to parse quantity's suffix"),
        };
        try
        {
            return number * (decimal)factor;
        }
        catch (OverflowException)
        {
            return number < 0 ? decimal.MinValue : decimal.MaxValue;
        }
    }

    private static void Mounts(JsonArray? mounts, string listPath, HashSet<string> volumes, List<FieldError> errors)
    {
        for (var i = 0; i < (mounts?.Count ?? 0); i++)
        {
            var path = $"{listPath}[{i}]";
            var mount = mounts![i] as JsonObject ?? new JsonObject();
            var name = (string?)mount["name"];
            if (string.IsNullOrEmpty(name))
            {
                errors.Add(FieldError.Required($"{path}.name"));
            }
            else if (!volumes.Contains(name))
            {
                errors.Add(new FieldError("FieldValueNotFound", $"{path}.name", $"Not found: \"{name}\""));
            }

            if (string.IsNullOrEmpty((string?)mount["mountPath"]))
            {
                errors.Add(FieldError.Required($"{path}.mountPath"));
            }
        }
    }

    private static void Tolerations(JsonArray? tolerations, List<FieldError> errors)
    {
        for (var i = 0; i < (tolerations?.Count ?? 0); i++)
        {
            var path = $"spec.tolerations[{i}]";
            var t = tolerations![i] as JsonObject ?? new JsonObject();
            var key = (string?)t["key"] ?? "";
            var op = (string?)t["operator"] ?? "Equal";
            var value = (string?)t["value"] ?? "";
            if (key.Length > 0)
            {
                errors.AddRange(ObjectMetaValidation.IsQualifiedName(key).Select(m => FieldError.Invalid($"{path}.key", key, m)));
            }
            else if (op != "Exists")
            {
                errors.Add(FieldError.Invalid($"{path}.operator", op, "operator must be Exists when `key` is empty, which means \"match all values and all keys\""));
            }

            switch (op)
            {
                case "Equal":
                    errors.AddRange(ObjectMetaValidation.IsValidLabelValue(value).Select(m => FieldError.Invalid($"{path}.value", value, m)));
                    break;
                case "Exists" when value.Length > 0:
                    errors.Add(FieldError.Invalid($"{path}.operator", t["value"], "value must be empty when `operator` is 'Exists'"));
                    break;
                case "Exists":
                    break;
                default:
                    errors.Add(FieldError.NotSupported($"{path}.operator", op, ["Equal", "Exists"]));
                    break;
            }

            if ((string?)t["effect"] is { Length: > 0 } effect && effect is not ("NoSchedule" or "PreferNoSchedule" or "NoExecute"))
            {
                errors.Add(FieldError.NotSupported($"{path}.effect", effect, ["NoSchedule", "PreferNoSchedule", "NoExecute"]));
            }
        }
    }

    private static FieldError Duplicate(string path, string value) => new("FieldValueDuplicate", path, $"Duplicate value: \"{value}\"");

    [GeneratedRegex(@"^(?<number>[+-]?[0-9.]+)(?<suffix>[eEinumkKMGTP]*[-+]?[0-9]*)\z")]
    private static partial Regex QuantityPattern();

    [GeneratedRegex(@"^(?=.{1,15}\z)(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?\z")]
    private static partial Regex PortName();
}
