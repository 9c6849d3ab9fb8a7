using System.Text.Json.Nodes;
using K8sTraining.LocalCluster.Api;
using K8sTraining.LocalCluster.Resources;

namespace K8sTraining.LocalCluster.Admission;

/// <summary>
/// The admission plugins a real cluster runs on every pod create, with their messages: ServiceAccount (the named
/// account must exist), Priority (the named PriorityClass must exist; its value becomes spec.priority) and PodSecurity
/// (the namespace's <c>pod-security.kubernetes.io/enforce</c> level).
/// </summary>
public static class PodAdmission
{
    /// <summary>Reads one stored object: (resource, namespace or null, name) to the object or null.</summary>
    public delegate JsonObject? Lookup(ResourceType type, string? ns, string name);

    /// <summary>Admits <paramref name="pod"/> (defaulted and validated) into <paramref name="ns"/>, or throws 403.</summary>
    public static void Admit(string ns, JsonObject pod, Lookup lookup)
    {
        var name = (string?)pod["metadata"]?["name"] ?? "";
        var spec = pod["spec"] as JsonObject ?? new JsonObject();
        var serviceAccount = (string?)spec["serviceAccountName"] is { Length: > 0 } sa ? sa : "default";
        if (lookup(BuiltinResources.ServiceAccounts, ns, serviceAccount) is null)
        {
            throw Forbidden(name, $"error looking up service account {ns}/{serviceAccount}: serviceaccount \"{serviceAccount}\" not found");
        }

        if ((string?)spec["priorityClassName"] is { Length: > 0 } priorityClassName)
        {
            var priorityClass = lookup(BuiltinResources.PriorityClasses, null, priorityClassName)
                ?? throw Forbidden(name, $"no PriorityClass with name {priorityClassName} was found");
            spec["priority"] = priorityClass["value"]?.DeepClone() ?? 0;
            spec["preemptionPolicy"] = priorityClass["preemptionPolicy"]?.DeepClone() ?? "PreemptLowerPriority";
        }

        var labels = lookup(BuiltinResources.Namespaces, null, ns)?["metadata"]?["labels"] as JsonObject;
        if (PodSecurity.Violations(labels, pod) is { } violations)
        {
            throw Forbidden(name, violations);
        }
    }

    private static ApiException Forbidden(string name, string why) =>
        ApiException.Forbidden(BuiltinResources.Pods.GroupResource, name, "", BuiltinResources.Pods.Plural, why);
}
