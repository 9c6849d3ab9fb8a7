using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using K8sTraining.LocalCluster.Resources;

namespace K8sTraining.LocalCluster.Api;

/// <summary>
/// The legacy discovery documents (APIVersions, APIGroupList, APIGroup, APIResourceList) and a minimal OpenAPI v3
/// (paths with their PATCH operations only: enough for kubectl to learn that the server does field validation).
/// </summary>
public static class DiscoveryDocuments
{
    public static JsonObject Version() => new()
    {
        ["major"] = "1",
        ["minor"] = "32",
        ["gitVersion"] = "v1.32.0-k8straining-local",
        ["gitCommit"] = "0000000000000000000000000000000000000000",
        ["gitTreeState"] = "clean",
        ["buildDate"] = "2026-01-01T00:00:00Z",
        ["goVersion"] = "go1.23.0",
        ["compiler"] = "gc",
        ["platform"] = "linux/amd64",
    };

    public static JsonObject ApiVersions(string serverAddress) => new()
    {
        ["kind"] = "APIVersions",
        ["versions"] = new JsonArray("v1"),
        ["serverAddressByClientCIDRs"] = new JsonArray(new JsonObject { ["clientCIDR"] = "0.0.0.0/0", ["serverAddress"] = serverAddress }),
    };

    public static JsonObject GroupList(ResourceRegistry registry)
    {
        var groups = new JsonArray();
        foreach (var (group, versions) in registry.Groups())
        {
            groups.Add(Group(group, versions));
        }

        return new JsonObject { ["kind"] = "APIGroupList", ["apiVersion"] = "v1", ["groups"] = groups };
    }

    public static JsonObject? GroupDocument(ResourceRegistry registry, string group)
    {
        var found = registry.Groups().FirstOrDefault(g => g.Group == group);
        if (found.Group is null)
        {
            return null;
        }

        var doc = Group(group, found.Versions);
        doc["kind"] = "APIGroup";
        doc["apiVersion"] = "v1";
        return doc;
    }

    public static JsonObject? ResourceList(ResourceRegistry registry, string group, string version)
    {
        var types = registry.InGroupVersion(group, version).ToList();
        if (types.Count == 0)
        {
            return null;
        }

        var resources = new JsonArray();
        foreach (var t in types)
        {
            var r = new JsonObject
            {
                ["name"] = t.Plural,
                ["singularName"] = t.Singular,
                ["namespaced"] = t.Namespaced,
                ["kind"] = t.Kind,
                ["verbs"] = new JsonArray(t.Verbs.Select(v => (JsonNode?)v).ToArray()),
            };
            if (t.ShortNames.Count > 0)
            {
                r["shortNames"] = new JsonArray(t.ShortNames.Select(v => (JsonNode?)v).ToArray());
            }

            if (t.Categories.Count > 0)
            {
                r["categories"] = new JsonArray(t.Categories.Select(v => (JsonNode?)v).ToArray());
            }

            r["storageVersionHash"] = Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(t.StorageKey)))[..11];
            resources.Add(r);
            if (t.HasStatus)
            {
                resources.Add(Sub(t, "status", t.Kind, ["get", "patch", "update"]));
            }

            if (t == BuiltinResources.Pods)
            {
                var eviction = Sub(t, "eviction", "Eviction", ["create"]);
                eviction["group"] = "policy";
                eviction["version"] = "v1";
                resources.Add(eviction);
                resources.Add(Sub(t, "log", "Pod", ["get"]));
            }
        }

        return new JsonObject
        {
            ["kind"] = "APIResourceList",
            ["apiVersion"] = "v1",
            ["groupVersion"] = group.Length == 0 ? version : $"{group}/{version}",
            ["resources"] = resources,
        };
    }

    /// <summary>The /openapi/v3 root: one entry per served group version, with a content hash.</summary>
    public static JsonObject OpenApiRoot(ResourceRegistry registry)
    {
        var paths = new JsonObject();
        foreach (var (group, version) in GroupVersions(registry))
        {
            var key = group.Length == 0 ? $"api/{version}" : $"apis/{group}/{version}";
            var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(OpenApiGroupVersion(registry, group, version)!.ToJsonString())));
            paths[key] = new JsonObject { ["serverRelativeURL"] = $"/openapi/v3/{key}?hash={hash}" };
        }

        return new JsonObject { ["paths"] = paths };
    }

    public static JsonObject? OpenApiGroupVersion(ResourceRegistry registry, string group, string version)
    {
        var types = registry.InGroupVersion(group, version).ToList();
        if (types.Count == 0)
        {
            return null;
        }

        var prefix = group.Length == 0 ? $"/api/{version}" : $"/apis/{group}/{version}";
        var paths = new JsonObject();
        var schemas = new JsonObject();
        foreach (var t in types)
        {
            var item = t.Namespaced ? $"{prefix}/namespaces/{{namespace}}/{t.Plural}/{{name}}" : $"{prefix}/{t.Plural}/{{name}}";
            paths[item] = new JsonObject { ["patch"] = PatchOperation(t) };
            if (t.HasStatus)
            {
                paths[item + "/status"] = new JsonObject { ["patch"] = PatchOperation(t) };
            }

            if (t.Schema is not null)
            {
                // A custom resource's schema, so that `kubectl explain` can describe it.
                var schema = (JsonObject)t.Schema.DeepClone();
                schema["x-kubernetes-group-version-kind"] = new JsonArray(new JsonObject { ["group"] = t.Group, ["kind"] = t.Kind, ["version"] = t.Version });
                schemas[string.Join('.', t.Group.Split('.').Reverse()) + $".{t.Version}.{t.Kind}"] = schema;
            }
        }

        return new JsonObject
        {
            ["openapi"] = "3.0.0",
            ["info"] = new JsonObject { ["title"] = "Kubernetes", ["version"] = "v1.32.0" },
            ["paths"] = paths,
            ["components"] = new JsonObject { ["schemas"] = schemas },
        };
    }

    private static IEnumerable<(string Group, string Version)> GroupVersions(ResourceRegistry registry)
    {
        yield return ("", "v1");
        foreach (var (group, versions) in registry.Groups())
        {
            foreach (var v in versions)
            {
                yield return (group, v);
            }
        }
    }

    private static JsonObject PatchOperation(ResourceType t) => new()
    {
        ["operationId"] = $"patch{t.Kind}",
        ["parameters"] = new JsonArray(
            new JsonObject { ["name"] = "dryRun", ["in"] = "query", ["schema"] = new JsonObject { ["type"] = "string" } },
            new JsonObject { ["name"] = "fieldManager", ["in"] = "query", ["schema"] = new JsonObject { ["type"] = "string" } },
            new JsonObject { ["name"] = "fieldValidation", ["in"] = "query", ["schema"] = new JsonObject { ["type"] = "string" } },
            new JsonObject { ["name"] = "force", ["in"] = "query", ["schema"] = new JsonObject { ["type"] = "boolean" } }),
        // Strategic merge patch is deliberately not listed: without its schemas kubectl computes it from its compiled-in types.
        ["requestBody"] = new JsonObject
        {
            ["content"] = new JsonObject
            {
                ["application/json-patch+json"] = new JsonObject(),
                ["application/merge-patch+json"] = new JsonObject(),
                ["application/apply-patch+yaml"] = new JsonObject(),
            },
            ["required"] = true,
        },
        ["responses"] = new JsonObject { ["200"] = new JsonObject { ["description"] = "OK" } },
        ["x-kubernetes-action"] = "patch",
        ["x-kubernetes-group-version-kind"] = new JsonObject { ["group"] = t.Group, ["version"] = t.Version, ["kind"] = t.Kind },
    };

    private static JsonObject Group(string group, IReadOnlyList<string> versions)
    {
        var vs = new JsonArray();
        foreach (var v in versions)
        {
            vs.Add(new JsonObject { ["groupVersion"] = $"{group}/{v}", ["version"] = v });
        }

        return new JsonObject
        {
            ["name"] = group,
            ["versions"] = vs,
            ["preferredVersion"] = new JsonObject { ["groupVersion"] = $"{group}/{versions[0]}", ["version"] = versions[0] },
        };
    }

    private static JsonObject Sub(ResourceType t, string sub, string kind, string[] verbs) => new()
    {
        ["name"] = $"{t.Plural}/{sub}",
        ["singularName"] = "",
        ["namespaced"] = t.Namespaced,
        ["kind"] = kind,
        ["verbs"] = new JsonArray(verbs.Select(v => (JsonNode?)v).ToArray()),
    };
}
