using System.Globalization;
using System.Text.RegularExpressions;
using k8s.Models;

namespace K8sTraining.NodeAgent.Containers;

/// <summary>The downward API: values of fieldRef and resourceFieldRef as the kubelet computes them.</summary>
public static partial class FieldPaths
{
    public static string Resolve(V1Pod pod, string fieldPath, string hostIP, string podIP)
    {
        var match = SubscriptPattern().Match(fieldPath);
        if (match.Success)
        {
            var key = match.Groups["key"].Value;
            var map = match.Groups["map"].Value == "labels" ? pod.Metadata.Labels : pod.Metadata.Annotations;
            return map is not null && map.TryGetValue(key, out var value) ? value : string.Empty;
        }

        return fieldPath switch
        {
            "metadata.name" => pod.Metadata.Name,
            "metadata.namespace" => pod.Metadata.NamespaceProperty ?? "default",
            "metadata.uid" => pod.Metadata.Uid,
            "spec.nodeName" => pod.Spec.NodeName ?? string.Empty,
            "spec.serviceAccountName" => pod.Spec.ServiceAccountName ?? "default",
            "status.hostIP" or "status.hostIPs" => hostIP,
            "status.podIP" or "status.podIPs" => podIP,
            _ => throw new ContainerConfigException($"unsupported fieldPath: {fieldPath}"),
        };
    }

    /// <summary>resourceFieldRef: the container's limit or request divided by the divisor, rounded up; limits default
    /// to the node's allocatable amount as on a real node.</summary>
    public static string ResolveResource(V1Container container, V1ResourceFieldSelector selector, int nodeCpus, long nodeMemoryBytes)
    {
        var resource = selector.Resource;
        var parts = resource.Split('.', 2);
        if (parts.Length != 2 || (parts[0] != "limits" && parts[0] != "requests"))
        {
            throw new ContainerConfigException($"unsupported container resource: {resource}");
        }

        var source = parts[0] == "limits" ? container.Resources?.Limits : container.Resources?.Requests;
        decimal? value = source is not null && source.TryGetValue(parts[1], out var quantity) ? quantity.ToDecimal() : null;
        if (value is null && parts[0] == "requests")
        {
            value = container.Resources?.Limits is { } limits && limits.TryGetValue(parts[1], out var limit) ? limit.ToDecimal() : null;
        }

        value ??= parts[1] switch
        {
            "cpu" => parts[0] == "limits" ? nodeCpus : 0m,
            "memory" => parts[0] == "limits" ? nodeMemoryBytes : 0m,
            "ephemeral-storage" => 0m,
            _ => throw new ContainerConfigException($"unsupported container resource: {resource}"),
        };

        var divisor = selector.Divisor?.ToDecimal() ?? 1m;
        if (divisor <= 0)
        {
            divisor = 1m;
        }

        return ((long)Math.Ceiling(value.Value / divisor)).ToString(CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"^metadata\.(?<map>labels|annotations)\['(?<key>[^']*)'\]$")]
    private static partial Regex SubscriptPattern();
}
