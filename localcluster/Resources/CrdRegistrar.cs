using System.Globalization;
using System.Text.Json.Nodes;
using K8sTraining.LocalCluster.Api;

namespace K8sTraining.LocalCluster.Resources;

/// <summary>Turns a CustomResourceDefinition into served resource types, and checks it the way the real server does.</summary>
public static class CrdRegistrar
{
    public static void Validate(JsonObject crd)
    {
        var errors = new List<FieldError>();
        var name = (string?)crd["metadata"]?["name"] ?? "";
        var spec = crd["spec"] as JsonObject;
        var group = (string?)spec?["group"];
        var plural = (string?)spec?["names"]?["plural"];
        if (string.IsNullOrEmpty(group))
        {
            errors.Add(FieldError.Required("spec.group"));
        }

        if (string.IsNullOrEmpty(plural))
        {
            errors.Add(FieldError.Required("spec.names.plural"));
        }

        if (string.IsNullOrEmpty((string?)spec?["names"]?["kind"]))
        {
            errors.Add(FieldError.Required("spec.names.kind"));
        }

        var scope = (string?)spec?["scope"];
        if (scope is not ("Namespaced" or "Cluster"))
        {
            errors.Add(FieldError.NotSupported("spec.scope", scope, ["Cluster", "Namespaced"]));
        }

        if (!string.IsNullOrEmpty(group) && !string.IsNullOrEmpty(plural) && name != $"{plural}.{group}")
        {
            errors.Add(FieldError.Invalid("metadata.name", name, "must be spec.names.plural+\".\"+spec.group"));
        }

        if (spec?["versions"] is not JsonArray { Count: > 0 } versions)
        {
            errors.Add(FieldError.Invalid("spec.versions", null, "must have exactly one version marked as storage version"));
        }
        else
        {
            var storage = versions.Count(v => (bool?)v?["storage"] == true);
            if (storage != 1)
            {
                errors.Add(FieldError.Invalid("spec.versions", null, "must have exactly one version marked as storage version"));
            }

            for (var i = 0; i < versions.Count; i++)
            {
                if (string.IsNullOrEmpty((string?)versions[i]?["name"]))
                {
                    errors.Add(FieldError.Required($"spec.versions[{i}].name"));
                }

                if (versions[i]?["schema"]?["openAPIV3Schema"] is not JsonObject)
                {
                    errors.Add(FieldError.Required($"spec.versions[{i}].schema.openAPIV3Schema", "schemas are required"));
                }
            }
        }

        if (errors.Count > 0)
        {
            throw ApiException.Invalid("CustomResourceDefinition.apiextensions.k8s.io", name, "apiextensions.k8s.io", "CustomResourceDefinition", errors);
        }
    }

    /// <summary>The status a real server reports once the names are accepted and the CRD is established.</summary>
    public static JsonObject Status(JsonObject crd, DateTimeOffset now)
    {
        var stamp = now.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        var names = (JsonObject)crd["spec"]!["names"]!.DeepClone();
        names["singular"] ??= ((string?)names["kind"] ?? "").ToLowerInvariant();
        names["listKind"] ??= (string?)names["kind"] + "List";
        var storage = ((JsonArray)crd["spec"]!["versions"]!).First(v => (bool?)v?["storage"] == true)!["name"]!.GetValue<string>();
        var stored = crd["status"]?["storedVersions"] is JsonArray prior ? (JsonArray)prior.DeepClone() : new JsonArray();
        if (!stored.Any(s => (string?)s == storage))
        {
            stored.Add(storage);
        }

        return new JsonObject
        {
            ["conditions"] = new JsonArray(
                Condition("NamesAccepted", "NoConflicts", "no conflicts found", stamp),
                Condition("Established", "InitialNamesAccepted", "the initial names have been accepted", stamp)),
            ["acceptedNames"] = names,
            ["storedVersions"] = stored,
        };
    }

    public static List<ResourceType> TypesOf(JsonObject crd)
    {
        var spec = crd["spec"]!.AsObject();
        var names = spec["names"]!.AsObject();
        var kind = (string)names["kind"]!;
        var plural = (string)names["plural"]!;
        var singular = (string?)names["singular"] ?? kind.ToLowerInvariant();
        var shortNames = (names["shortNames"] as JsonArray)?.Select(n => (string)n!).ToList() ?? [];
        var categories = (names["categories"] as JsonArray)?.Select(n => (string)n!).ToList() ?? [];
        var group = (string)spec["group"]!;
        var namespaced = (string?)spec["scope"] == "Namespaced";
        var result = new List<ResourceType>();
        foreach (var v in ((JsonArray)spec["versions"]!).OfType<JsonObject>())
        {
            if ((bool?)v["served"] == false)
            {
                continue;
            }

            result.Add(new ResourceType(group, (string)v["name"]!, kind, plural, singular, namespaced)
            {
                ShortNames = shortNames,
                Categories = categories,
                IsCustom = true,
                TracksGeneration = true,
                HasStatus = v["subresources"]?["status"] is not null,
                Schema = v["schema"]?["openAPIV3Schema"]?.DeepClone() as JsonObject,
                PrinterColumns = v["additionalPrinterColumns"]?.DeepClone() as JsonArray,
            });
        }

        return result;
    }

    private static JsonObject Condition(string type, string reason, string message, string stamp) => new()
    {
        ["type"] = type,
        ["status"] = "True",
        ["lastTransitionTime"] = stamp,
        ["reason"] = reason,
        ["message"] = message,
    };
}
