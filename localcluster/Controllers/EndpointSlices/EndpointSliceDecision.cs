using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace K8sTraining.LocalCluster.Controllers.EndpointSlices;

/// <summary>
/// What the EndpointSlice controller keeps for one Service with a selector: one IPv4 slice whose endpoints are the
/// selected pods that have an address and have not ended (terminating ones only with publishNotReadyAddresses), each
/// with conditions ready (the pod Ready and not terminating, or any pod when the Service publishes not-ready
/// addresses), serving and terminating, the hostname (when the pod's subdomain names the Service), nodeName and a
/// targetRef; the labels kubernetes.io/service-name, endpointslice.kubernetes.io/managed-by and, for a headless
/// Service, service.kubernetes.io/headless; and an ownerReference to the Service.
/// </summary>
public static class EndpointSliceDecision
{
    public const string ServiceNameLabel = "kubernetes.io/service-name";
    public const string ManagedByLabel = "endpointslice.kubernetes.io/managed-by";
    public const string ManagedBy = "endpointslice-controller.k8s.io";
    public const string HeadlessLabel = "service.kubernetes.io/headless";

    /// <summary>The slice's name: the Service's name and a short hash of its uid (stable, so every write is idempotent).</summary>
    public static string SliceName(string service, string uid) =>
        $"{service}-{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(uid)))[..5]}";

    /// <summary>Whether the Service gets a slice from this controller: it has a non-empty selector.</summary>
    public static bool Manages(JsonObject service) => service["spec"]?["selector"] is JsonObject { Count: > 0 };

    /// <summary>The slice the Service should have, given every pod of its namespace.</summary>
    public static JsonObject Desired(JsonObject service, IEnumerable<JsonObject> pods)
    {
        var meta = service["metadata"]!;
        var name = (string)meta["name"]!;
        var ns = (string?)meta["namespace"] ?? "default";
        var uid = (string?)meta["uid"] ?? "";
        var spec = service["spec"] as JsonObject ?? [];
        var selector = (spec["selector"] as JsonObject)?.ToDictionary(kv => kv.Key, kv => (string?)kv.Value ?? "") ?? [];
        var publishNotReady = (bool?)spec["publishNotReadyAddresses"] == true;
        var selected = pods.Where(p => ((string?)p["metadata"]?["namespace"] ?? "default") == ns && Selects(selector, p) && Included(p, publishNotReady))
            .OrderBy(p => (string?)p["metadata"]?["name"], StringComparer.Ordinal).ToList();

        var labels = new JsonObject { [ServiceNameLabel] = name, [ManagedByLabel] = ManagedBy };
        if ((string?)spec["clusterIP"] == "None")
        {
            labels[HeadlessLabel] = "";
        }

        var endpoints = new JsonArray();
        foreach (var pod in selected)
        {
            endpoints.Add(Endpoint(pod, name, ns, publishNotReady));
        }

        return new JsonObject
        {
            ["apiVersion"] = "discovery.k8s.io/v1",
            ["kind"] = "EndpointSlice",
            ["metadata"] = new JsonObject
            {
                ["name"] = SliceName(name, uid),
                ["namespace"] = ns,
                ["labels"] = labels,
                ["ownerReferences"] = new JsonArray(new JsonObject
                {
                    ["apiVersion"] = "v1",
                    ["kind"] = "Service",
                    ["name"] = name,
                    ["uid"] = uid,
                    ["controller"] = true,
                    ["blockOwnerDeletion"] = true,
                }),
            },
            ["addressType"] = "IPv4",
            ["endpoints"] = endpoints,
            ["ports"] = Ports(spec, selected),
        };
    }

    private static bool Selects(Dictionary<string, string> selector, JsonObject pod)
    {
        var labels = pod["metadata"]?["labels"] as JsonObject;
        return selector.All(kv => labels is not null && (string?)labels[kv.Key] == kv.Value);
    }

    /// <summary>The real controller's ShouldPodBeInEndpoints: an address, not ended, not terminating unless published anyway.</summary>
    private static bool Included(JsonObject pod, bool publishNotReady) =>
        !string.IsNullOrEmpty((string?)pod["status"]?["podIP"])
        && (string?)pod["status"]?["phase"] is not ("Succeeded" or "Failed")
        && (pod["metadata"]?["deletionTimestamp"] is null || publishNotReady);

    private static JsonObject Endpoint(JsonObject pod, string service, string ns, bool publishNotReady)
    {
        var meta = pod["metadata"]!;
        var podSpec = pod["spec"] as JsonObject ?? [];
        var serving = (pod["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>()
            .Any(c => (string?)c["type"] == "Ready" && (string?)c["status"] == "True") == true;
        var terminating = meta["deletionTimestamp"] is not null;
        var endpoint = new JsonObject
        {
            ["addresses"] = new JsonArray((string)pod["status"]!["podIP"]!),
            ["conditions"] = new JsonObject
            {
                // As the real controller: never ready while terminating, unless the Service publishes not-ready addresses.
                ["ready"] = publishNotReady || (serving && !terminating),
                ["serving"] = serving,
                ["terminating"] = terminating,
            },
        };
        if ((string?)podSpec["hostname"] is { Length: > 0 } hostname && (string?)podSpec["subdomain"] == service && (string?)meta["namespace"] == ns)
        {
            endpoint["hostname"] = hostname;
        }

        if ((string?)podSpec["nodeName"] is { Length: > 0 } node)
        {
            endpoint["nodeName"] = node;
        }

        endpoint["targetRef"] = new JsonObject
        {
            ["kind"] = "Pod",
            ["namespace"] = (string?)meta["namespace"],
            ["name"] = (string?)meta["name"],
            ["uid"] = (string?)meta["uid"],
        };
        return endpoint;
    }

    /// <summary>The Service's ports with their target ports: a number as is, a name looked up in the selected pods'
    /// container ports (a name no pod declares leaves the port out).</summary>
    private static JsonArray Ports(JsonObject spec, IReadOnlyList<JsonObject> pods)
    {
        var result = new JsonArray();
        foreach (var port in (spec["ports"] as JsonArray)?.OfType<JsonObject>() ?? [])
        {
            var target = port["targetPort"] ?? port["port"];
            long? number = target?.GetValueKind() == System.Text.Json.JsonValueKind.Number ? long.Parse(target.ToJsonString(), CultureInfo.InvariantCulture)
                : pods.SelectMany(p => (p["spec"]?["containers"] as JsonArray)?.OfType<JsonObject>() ?? [])
                    .SelectMany(c => (c["ports"] as JsonArray)?.OfType<JsonObject>() ?? [])
                    .Where(cp => (string?)cp["name"] == (string?)target)
                    .Select(cp => cp["containerPort"] is { } p ? long.Parse(p.ToJsonString(), CultureInfo.InvariantCulture) : (long?)null).FirstOrDefault();
            if (number is null)
            {
                continue;
            }

            result.Add(new JsonObject
            {
                ["name"] = (string?)port["name"] ?? "",
                ["port"] = number,
                ["protocol"] = (string?)port["protocol"] ?? "TCP",
            });
        }

        return result;
    }
}
