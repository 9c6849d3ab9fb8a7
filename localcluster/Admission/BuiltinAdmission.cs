using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using K8sTraining.LocalCluster.Api;

namespace K8sTraining.LocalCluster.Admission;

/// <summary>
/// What the real server's registry strategies do for the built-in kinds served here: defaults, create-time status,
/// the DefaultTolerationSeconds plugin, and the validation clients are known to trip over.
/// </summary>
/// <param name="nodeName">When not empty, every new pod without spec.nodeName is bound to this node at once (a
/// control plane without in-process node agents and so without a scheduler: an agent run elsewhere serves that node).
/// Empty leaves pods to the scheduler.</param>
/// <param name="defaultTolerationSeconds">tolerationSeconds of the not-ready and unreachable NoExecute tolerations
/// added to pods that have none for those taints (kube-apiserver's default: 300).</param>
public sealed class BuiltinAdmission(string nodeName, TimeProvider time, bool enforcePodAdmission = true, long defaultTolerationSeconds = 300)
{
    /// <summary>Run the ServiceAccount, Priority and PodSecurity admission plugins on pod creates (<see cref="PodAdmission"/>).</summary>
    public bool EnforcePodAdmission => enforcePodAdmission;

    private int _nextClusterIp = 10;

    /// <summary>Defaults and status on create. <paramref name="obj"/> is changed in place.</summary>
    public void OnCreate(string kind, JsonObject obj)
    {
        switch (kind)
        {
            case "Pod":
                DefaultPod(obj);
                var spec = obj["spec"]!.AsObject();
                AddDefaultTolerations(spec, defaultTolerationSeconds);
                var scheduled = false;
                if (string.IsNullOrEmpty((string?)spec["nodeName"]) && nodeName.Length > 0)
                {
                    spec["nodeName"] = nodeName;
                    scheduled = true;
                }

                var status = new JsonObject { ["phase"] = "Pending", ["qosClass"] = QosClass(spec) };
                if (scheduled || !string.IsNullOrEmpty((string?)spec["nodeName"]))
                {
                    status["conditions"] = new JsonArray(new JsonObject
                    {
                        ["type"] = "PodScheduled",
                        ["status"] = "True",
                        ["lastProbeTime"] = null,
                        ["lastTransitionTime"] = Now(),
                    });
                }

                obj["status"] = status;
                ValidatePod(obj);
                break;
            case "Service":
                DefaultService(obj, null);
                obj["status"] = new JsonObject { ["loadBalancer"] = new JsonObject() };
                break;
            case "Secret":
                DefaultSecret(obj);
                break;
            case "Namespace":
                obj["spec"] = new JsonObject { ["finalizers"] = new JsonArray("kubernetes") };
                obj["status"] = new JsonObject { ["phase"] = "Active" };
                NamespaceLabel(obj);
                break;
        }
    }

    /// <summary>Defaults and immutability on update of the main resource.</summary>
    public void OnUpdate(string kind, JsonObject obj, JsonObject current)
    {
        switch (kind)
        {
            case "Pod":
                DefaultPod(obj);
                if (obj["spec"] is JsonObject newSpec && current["spec"] is JsonObject oldSpec)
                {
                    // Kept from the stored pod; a pod never scheduled has no nodeName to keep (a null would differ from none).
                    if (string.IsNullOrEmpty((string?)newSpec["nodeName"]) && oldSpec["nodeName"] is not null)
                    {
                        newSpec["nodeName"] = oldSpec["nodeName"]?.DeepClone();
                    }

                    if (!JsonNode.DeepEquals(MutableFieldsBlanked(newSpec), MutableFieldsBlanked(oldSpec)))
                    {
                        throw ApiException.Invalid("Pod", Name(obj), "", "Pod", [FieldError.Forbidden("spec",
                            "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)")]);
                    }
                }

                break;
            case "Service":
                DefaultService(obj, current);
                break;
            case "Secret":
                DefaultSecret(obj);
                break;
            case "Namespace":
                obj["spec"] = current["spec"]?.DeepClone();
                NamespaceLabel(obj);
                break;
        }
    }

    private string Now() => time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private static string Name(JsonObject obj) => (string?)obj["metadata"]?["name"] ?? "";

    private static void DefaultPod(JsonObject pod)
    {
        if (pod["spec"] is not JsonObject spec)
        {
            spec = new JsonObject();
            pod["spec"] = spec;
        }

        SetIfAbsent(spec, "restartPolicy", "Always");
        SetIfAbsent(spec, "terminationGracePeriodSeconds", 30);
        SetIfAbsent(spec, "dnsPolicy", "ClusterFirst");
        SetIfAbsent(spec, "schedulerName", "default-scheduler");
        SetIfAbsent(spec, "serviceAccountName", (string?)spec["serviceAccount"] ?? "default");
        SetIfAbsent(spec, "serviceAccount", (string?)spec["serviceAccountName"]);
        SetIfAbsent(spec, "securityContext", new JsonObject());
        SetIfAbsent(spec, "enableServiceLinks", true);
        SetIfAbsent(spec, "priority", 0);
        SetIfAbsent(spec, "preemptionPolicy", "PreemptLowerPriority");
        foreach (var list in new[] { "containers", "initContainers" })
        {
            if (spec[list] is not JsonArray containers)
            {
                continue;
            }

            foreach (var c in containers.OfType<JsonObject>())
            {
                SetIfAbsent(c, "terminationMessagePath", "/dev/termination-log");
                SetIfAbsent(c, "terminationMessagePolicy", "File");
                var image = (string?)c["image"] ?? "";
                var tagged = image.Contains('@', StringComparison.Ordinal) || (image.LastIndexOf(':') > image.LastIndexOf('/') && !image.EndsWith(":latest", StringComparison.Ordinal));
                SetIfAbsent(c, "imagePullPolicy", tagged ? "IfNotPresent" : "Always");
                SetIfAbsent(c, "resources", new JsonObject());
                if (c["ports"] is JsonArray ports)
                {
                    foreach (var p in ports.OfType<JsonObject>())
                    {
                        SetIfAbsent(p, "protocol", "TCP");
                    }
                }

                if (c["env"] is JsonArray env)
                {
                    foreach (var e in env.OfType<JsonObject>())
                    {
                        if (e["valueFrom"]?["fieldRef"] is JsonObject fieldRef)
                        {
                            SetIfAbsent(fieldRef, "apiVersion", "v1");
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// The DefaultTolerationSeconds admission plugin: a pod that tolerates neither taint (by key, or an empty key, with
    /// effect NoExecute or any) gets <c>node.kubernetes.io/not-ready</c> and <c>node.kubernetes.io/unreachable</c>,
    /// operator Exists, effect NoExecute, for the default number of seconds.
    /// </summary>
    private static void AddDefaultTolerations(JsonObject spec, long seconds)
    {
        var tolerations = spec["tolerations"] as JsonArray;
        foreach (var key in new[] { "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable" })
        {
            var tolerated = tolerations?.OfType<JsonObject>().Any(t =>
                ((string?)t["key"] is null or "" || (string?)t["key"] == key) && (string?)t["effect"] is null or "" or "NoExecute") ?? false;
            if (tolerated)
            {
                continue;
            }

            if (tolerations is null)
            {
                tolerations = new JsonArray();
                spec["tolerations"] = tolerations;
            }

            tolerations.Add(new JsonObject { ["key"] = key, ["operator"] = "Exists", ["effect"] = "NoExecute", ["tolerationSeconds"] = seconds });
        }
    }

    private static void ValidatePod(JsonObject pod)
    {
        var errors = PodValidation.Validate(pod["spec"] as JsonObject ?? new JsonObject());
        if (errors.Count > 0)
        {
            throw ApiException.Invalid("Pod", Name(pod), "", "Pod", errors);
        }
    }

    private static JsonObject MutableFieldsBlanked(JsonObject spec)
    {
        var copy = (JsonObject)spec.DeepClone();
        foreach (var list in new[] { "containers", "initContainers" })
        {
            if (copy[list] is JsonArray containers)
            {
                foreach (var c in containers.OfType<JsonObject>())
                {
                    c.Remove("image");
                }
            }
        }

        copy.Remove("activeDeadlineSeconds");
        copy.Remove("tolerations");
        copy.Remove("terminationGracePeriodSeconds");
        return copy;
    }

    private static string QosClass(JsonObject spec)
    {
        var containers = (spec["containers"] as JsonArray)?.OfType<JsonObject>().ToList() ?? [];
        if (containers.All(c => c["resources"] is not JsonObject r || (r["requests"] is not JsonObject { Count: > 0 } && r["limits"] is not JsonObject { Count: > 0 })))
        {
            return "BestEffort";
        }

        var guaranteed = containers.All(c =>
            c["resources"]?["limits"] is JsonObject l && l["cpu"] is not null && l["memory"] is not null
            && (c["resources"]?["requests"] is not JsonObject req || (JsonNode.DeepEquals(req["cpu"] ?? l["cpu"], l["cpu"]) && JsonNode.DeepEquals(req["memory"] ?? l["memory"], l["memory"]))));
        return guaranteed ? "Guaranteed" : "Burstable";
    }

    private void DefaultService(JsonObject svc, JsonObject? current)
    {
        if (svc["spec"] is not JsonObject spec)
        {
            spec = new JsonObject();
            svc["spec"] = spec;
        }

        SetIfAbsent(spec, "type", "ClusterIP");
        SetIfAbsent(spec, "sessionAffinity", "None");
        if (current?["spec"]?["clusterIP"] is { } existing)
        {
            spec["clusterIP"] = existing.DeepClone();
            spec["clusterIPs"] = current["spec"]?["clusterIPs"]?.DeepClone();
        }
        else if ((string?)spec["clusterIP"] is null or "")
        {
            var n = Interlocked.Increment(ref _nextClusterIp);
            var ip = $"10.96.{n / 250}.{(n % 250) + 1}";
            spec["clusterIP"] = ip;
            spec["clusterIPs"] = new JsonArray(ip);
        }

        if (spec["ports"] is JsonArray ports)
        {
            foreach (var p in ports.OfType<JsonObject>())
            {
                SetIfAbsent(p, "protocol", "TCP");
                SetIfAbsent(p, "targetPort", p["port"]?.DeepClone());
            }
        }
    }

    private static void DefaultSecret(JsonObject secret)
    {
        if (string.IsNullOrEmpty((string?)secret["type"]))
        {
            secret["type"] = "Opaque";
        }
        if (secret["stringData"] is JsonObject stringData)
        {
            if (secret["data"] is not JsonObject data)
            {
                data = new JsonObject();
                secret["data"] = data;
            }

            foreach (var (k, v) in stringData)
            {
                data[k] = Convert.ToBase64String(Encoding.UTF8.GetBytes((string?)v ?? ""));
            }

            secret.Remove("stringData");
        }
    }

    private static void NamespaceLabel(JsonObject ns)
    {
        var meta = ns["metadata"]!.AsObject();
        if (meta["labels"] is not JsonObject labels)
        {
            labels = new JsonObject();
            meta["labels"] = labels;
        }

        labels["kubernetes.io/metadata.name"] = (string?)meta["name"];
    }

    private static void SetIfAbsent(JsonObject o, string key, JsonNode? value)
    {
        if (o[key] is null && value is not null)
        {
            o[key] = value;
        }
    }
}
