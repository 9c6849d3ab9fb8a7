using System.Globalization;
using System.Text.Json.Nodes;
using K8sTraining.LocalCluster.Resources;

namespace K8sTraining.LocalCluster.Tables;

/// <summary>
/// meta.k8s.io/v1 Table responses (what <c>kubectl get</c> prints): a CRD's additionalPrinterColumns, or the default
/// columns of the built-in kinds.
/// </summary>
public static class TableConverter
{
    private sealed record Column(string Name, string Type, int Priority, Func<JsonObject, JsonNode?> Cell, string Format = "", string Description = "");

    public static JsonObject Convert(ResourceType type, IEnumerable<JsonObject> objects, string includeObject, long resourceVersion, DateTimeOffset now, bool includeColumns = true)
    {
        var columns = ColumnsFor(type, now);
        var rows = new JsonArray();
        foreach (var obj in objects)
        {
            var cells = new JsonArray();
            foreach (var c in columns)
            {
                cells.Add(c.Cell(obj));
            }

            var row = new JsonObject { ["cells"] = cells };
            row["object"] = includeObject switch
            {
                "None" => null,
                "Object" => obj.DeepClone(),
                _ => PartialObjectMetadata(obj),
            };
            rows.Add(row);
        }

        var defs = new JsonArray();
        if (includeColumns)
        {
            foreach (var c in columns)
            {
                defs.Add(new JsonObject
                {
                    ["name"] = c.Name,
                    ["type"] = c.Type,
                    ["format"] = c.Format,
                    ["description"] = c.Description.Length > 0 ? c.Description : c.Name,
                    ["priority"] = c.Priority,
                });
            }
        }

        return new JsonObject
        {
            ["kind"] = "Table",
            ["apiVersion"] = "meta.k8s.io/v1",
            ["metadata"] = new JsonObject { ["resourceVersion"] = resourceVersion.ToString(CultureInfo.InvariantCulture) },
            ["columnDefinitions"] = defs,
            ["rows"] = rows,
        };
    }

    public static JsonObject PartialObjectMetadata(JsonObject obj) => new()
    {
        ["kind"] = "PartialObjectMetadata",
        ["apiVersion"] = "meta.k8s.io/v1",
        ["metadata"] = obj["metadata"]?.DeepClone(),
    };

    private static List<Column> ColumnsFor(ResourceType type, DateTimeOffset now)
    {
        var name = new Column("Name", "string", 0, o => (string?)o["metadata"]?["name"], "name",
            "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically.");
        var age = new Column("Age", "string", 0, o => Age(o["metadata"]?["creationTimestamp"], now), "",
            "CreationTimestamp is a timestamp representing the server time when this object was created.");
        if (type.IsCustom)
        {
            if (type.PrinterColumns is not { Count: > 0 } printer)
            {
                return [name, age];
            }

            var result = new List<Column> { name };
            foreach (var pc in printer.OfType<JsonObject>())
            {
                var colType = (string?)pc["type"] ?? "string";
                var path = (string?)pc["jsonPath"] ?? "";
                result.Add(new Column(
                    (string?)pc["name"] ?? path,
                    colType,
                    (int?)pc["priority"] ?? 0,
                    o => CustomCell(o, path, colType, now),
                    (string?)pc["format"] ?? "",
                    (string?)pc["description"] ?? ""));
            }

            return result;
        }

        return type.Kind switch
        {
            "Pod" => [name,
                new("Ready", "string", 0, PodReady, "", "The aggregate readiness state of this pod for accepting traffic."),
                new("Status", "string", 0, PodStatus, "", "The aggregate status of the containers in this pod."),
                new("Restarts", "string", 0, PodRestarts, "", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
                age,
                new("IP", "string", 1, o => (string?)o["status"]?["podIP"] ?? "<none>", "", "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated."),
                new("Node", "string", 1, o => (string?)o["spec"]?["nodeName"] ?? "<none>", "", "Name of the Node to which this pod is scheduled."),
                new("Nominated Node", "string", 1, o => (string?)o["status"]?["nominatedNodeName"] ?? "<none>", "", "Nominated node name."),
                new("Readiness Gates", "string", 1, _ => "<none>", "", "Readiness gates.")],
            "ConfigMap" => [name, new("Data", "integer", 0, o => Count(o["data"]) + Count(o["binaryData"])), age],
            "Secret" => [name, new("Type", "string", 0, o => (string?)o["type"]), new("Data", "integer", 0, o => Count(o["data"])), age],
            "Service" => [name,
                new("Type", "string", 0, o => (string?)o["spec"]?["type"] ?? "ClusterIP"),
                new("Cluster-IP", "string", 0, o => (string?)o["spec"]?["clusterIP"] ?? "<none>"),
                new("External-IP", "string", 0, _ => "<none>"),
                new("Port(s)", "string", 0, ServicePorts),
                age,
                new("Selector", "string", 1, o => o["spec"]?["selector"] is JsonObject s && s.Count > 0 ? string.Join(",", s.Select(kv => $"{kv.Key}={kv.Value}")) : "<none>")],
            "EndpointSlice" => [name,
                new("AddressType", "string", 0, o => (string?)o["addressType"], "", "Type of address carried by this EndpointSlice."),
                new("Ports", "string", 0, EndpointSlicePorts, "", "Ports that this EndpointSlice exposes."),
                new("Endpoints", "string", 0, EndpointSliceAddresses, "", "Addresses of the endpoints in this EndpointSlice."),
                age],
            "Namespace" => [name, new("Status", "string", 0, o => (string?)o["status"]?["phase"] ?? "Active"), age],
            "ServiceAccount" => [name, new("Secrets", "integer", 0, o => Count(o["secrets"])), age],
            "Node" => [name, new("Status", "string", 0, NodeStatus, "", "The status of the node"), new("Roles", "string", 0, _ => "<none>", "", "The roles of the node"), age,
                new("Version", "string", 0, o => (string?)o["status"]?["nodeInfo"]?["kubeletVersion"] ?? "", "", "Kubelet Version reported by the node."),
                new("Internal-IP", "string", 1, o => NodeAddress(o, "InternalIP"), "", "List of internal IPs for the node."),
                new("External-IP", "string", 1, o => NodeAddress(o, "ExternalIP"), "", "List of external IPs for the node."),
                new("OS-Image", "string", 1, o => (string?)o["status"]?["nodeInfo"]?["osImage"] ?? "<unknown>", "", "OS image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy))."),
                new("Kernel-Version", "string", 1, o => (string?)o["status"]?["nodeInfo"]?["kernelVersion"] ?? "<unknown>", "", "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64)."),
                new("Container-Runtime", "string", 1, o => (string?)o["status"]?["nodeInfo"]?["containerRuntimeVersion"] ?? "<unknown>", "", "Container Runtime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).")],
            "Lease" => [name, new("Holder", "string", 0, o => (string?)o["spec"]?["holderIdentity"] ?? "<none>"), age],
            "Event" => [
                new("Last Seen", "string", 0, o => EventLastSeen(o, now)),
                new("Type", "string", 0, o => (string?)o["type"]),
                new("Reason", "string", 0, o => (string?)o["reason"]),
                new("Object", "string", 0, EventObject),
                new("Message", "string", 0, o => (string?)o["message"] ?? (string?)o["note"]),
                name with { Priority = 1 }],
            "CustomResourceDefinition" => [name, new("Created At", "date", 0, o => (string?)o["metadata"]?["creationTimestamp"])],
            "PodDisruptionBudget" => [name,
                new("Min Available", "string", 0, o => Text(o["spec"]?["minAvailable"]) ?? "N/A"),
                new("Max Unavailable", "string", 0, o => Text(o["spec"]?["maxUnavailable"]) ?? "N/A"),
                new("Allowed Disruptions", "integer", 0, o => (long?)o["status"]?["disruptionsAllowed"] ?? 0),
                age],
            _ => [name, age],
        };
    }

    private static JsonNode? CustomCell(JsonObject obj, string path, string type, DateTimeOffset now)
    {
        var values = SimpleJsonPath.Evaluate(obj, path).Where(v => v is not null).ToList();
        if (values.Count == 0)
        {
            return null;
        }

        if (type == "date")
        {
            return Age(values[0], now);
        }

        if (values.Count > 1)
        {
            return string.Join(",", values.Select(SimpleJsonPath.Text));
        }

        var v = values[0]!;
        return type switch
        {
            "integer" or "number" or "boolean" when v is JsonValue => v.DeepClone(),
            _ when v is JsonValue jv && jv.GetValueKind() == System.Text.Json.JsonValueKind.String => jv.GetValue<string>(),
            _ => v.ToJsonString(),
        };
    }

    private static string? Text(JsonNode? n) => SimpleJsonPath.Text(n);

    private static string Age(JsonNode? timestamp, DateTimeOffset now) =>
        (string?)timestamp is { } s && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
            ? HumanDuration.Format(now - t)
            : "<unknown>";

    private static long Count(JsonNode? n) => n switch
    {
        JsonObject o => o.Count,
        JsonArray a => a.Count,
        _ => 0,
    };

    /// <summary>As kubectl's node printer: Ready only when the Ready condition is True, and SchedulingDisabled when cordoned.</summary>
    private static JsonNode NodeStatus(JsonObject node)
    {
        var ready = (node["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(c => (string?)c["type"] == "Ready");
        var status = (string?)ready?["status"] == "True" ? "Ready" : ready is null ? "Unknown" : "NotReady";
        return (bool?)node["spec"]?["unschedulable"] == true ? status + ",SchedulingDisabled" : status;
    }

    private static JsonNode NodeAddress(JsonObject node, string type) =>
        (node["status"]?["addresses"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(a => (string?)a["type"] == type)?["address"]?.DeepClone() ?? "<none>";

    private static JsonNode PodReady(JsonObject pod)
    {
        var total = (pod["spec"]?["containers"] as JsonArray)?.Count ?? 0;
        var ready = (pod["status"]?["containerStatuses"] as JsonArray)?.Count(c => (bool?)c?["ready"] == true) ?? 0;
        return $"{ready}/{total}";
    }

    /// <summary>The STATUS column as kubectl's pod printer derives it.</summary>
    private static JsonNode PodStatus(JsonObject pod)
    {
        var reason = (string?)pod["status"]?["reason"] ?? (string?)pod["status"]?["phase"] ?? "Unknown";
        if (pod["status"]?["containerStatuses"] is JsonArray statuses)
        {
            foreach (var cs in statuses.OfType<JsonObject>().Reverse())
            {
                if ((string?)cs["state"]?["waiting"]?["reason"] is { Length: > 0 } waiting)
                {
                    reason = waiting;
                }
                else if (cs["state"]?["terminated"] is JsonObject term)
                {
                    reason = (string?)term["reason"] is { Length: > 0 } r
                        ? r
                        : (string?)term["signal"] is { } sig && sig != "0" ? $"Signal:{sig}" : $"ExitCode:{(int?)term["exitCode"] ?? 0}";
                }
            }
        }

        if (pod["metadata"]?["deletionTimestamp"] is not null)
        {
            reason = (string?)pod["status"]?["reason"] == "NodeLost" ? "Unknown" : "Terminating";
        }

        return reason;
    }

    private static JsonNode PodRestarts(JsonObject pod)
    {
        var restarts = (pod["status"]?["containerStatuses"] as JsonArray)?.Sum(c => (long?)c?["restartCount"] ?? 0) ?? 0;
        return restarts.ToString(CultureInfo.InvariantCulture);
    }

    private static JsonNode ServicePorts(JsonObject svc)
    {
        if (svc["spec"]?["ports"] is not JsonArray ports || ports.Count == 0)
        {
            return "<none>";
        }

        return string.Join(",", ports.OfType<JsonObject>().Select(p => $"{(long?)p["port"]}/{(string?)p["protocol"] ?? "TCP"}"));
    }

    // kubectl's printer: ports as "80,443", at most three addresses then "+ N more...".
    private static JsonNode EndpointSlicePorts(JsonObject slice)
    {
        if (slice["ports"] is not JsonArray ports || ports.Count == 0)
        {
            return "<unset>";
        }

        return string.Join(",", ports.OfType<JsonObject>().Select(p => (long?)p["port"] is { } port ? port.ToString(CultureInfo.InvariantCulture) : "<unset>"));
    }

    private static JsonNode EndpointSliceAddresses(JsonObject slice)
    {
        var addresses = (slice["endpoints"] as JsonArray)?.OfType<JsonObject>()
            .SelectMany(e => (e["addresses"] as JsonArray)?.Select(a => (string?)a ?? "") ?? []).ToList() ?? [];
        if (addresses.Count == 0)
        {
            return "<unset>";
        }

        var shown = string.Join(",", addresses.Take(3));
        return addresses.Count > 3 ? $"{shown} + {(addresses.Count - 3).ToString(CultureInfo.InvariantCulture)} more..." : shown;
    }

    private static JsonNode EventLastSeen(JsonObject ev, DateTimeOffset now) =>
        Age(ev["lastTimestamp"] ?? ev["eventTime"] ?? ev["deprecatedLastTimestamp"] ?? ev["metadata"]?["creationTimestamp"], now);

    private static JsonNode EventObject(JsonObject ev)
    {
        var o = ev["involvedObject"] ?? ev["regarding"];
        return $"{((string?)o?["kind"] ?? "").ToLowerInvariant()}/{(string?)o?["name"]}";
    }
}
