using System.Text.Json.Nodes;
using K8sTraining.LocalCluster.Api;
using K8sTraining.LocalCluster.Resources;

namespace K8sTraining.LocalCluster.Controllers.Nodes;

/// <summary>Records a control-plane component's Event on a pod (Scheduled, FailedScheduling, TaintManagerEviction), so
/// that `kubectl describe pod` tells the story as on a real cluster; best effort.</summary>
internal static class PodEvents
{
    public static void Record(ResourceOperations ops, JsonObject pod, string component, string type, string reason, string message)
    {
        var ns = (string?)pod["metadata"]?["namespace"] ?? "default";
        var name = (string?)pod["metadata"]?["name"] ?? "";
        var now = ops.Now();
        try
        {
            ops.Create(BuiltinResources.Events, ns, new JsonObject
            {
                ["metadata"] = new JsonObject { ["name"] = $"{name}.{Guid.NewGuid():N}"[..Math.Min(253, name.Length + 17)], ["namespace"] = ns },
                ["involvedObject"] = new JsonObject
                {
                    ["apiVersion"] = "v1",
                    ["kind"] = "Pod",
                    ["name"] = name,
                    ["namespace"] = ns,
                    ["uid"] = pod["metadata"]?["uid"]?.DeepClone(),
                    ["resourceVersion"] = pod["metadata"]?["resourceVersion"]?.DeepClone(),
                },
                ["type"] = type,
                ["reason"] = reason,
                ["message"] = message,
                ["source"] = new JsonObject { ["component"] = component },
                ["reportingComponent"] = component,
                ["firstTimestamp"] = now,
                ["lastTimestamp"] = now,
                ["count"] = 1,
            });
        }
        catch (ApiException)
        {
            // A namespace being deleted refuses new Events; the pod goes with it.
        }
    }
}
