using k8s.Models;

namespace K8sTraining.NodeAgent.Network;

/// <summary>The kubelet's pod hostname: spec.hostname, else the pod name cut to 63 characters (no trailing '-' or '.').</summary>
public static class PodHostname
{
    public static string Of(V1Pod pod)
    {
        var name = string.IsNullOrEmpty(pod.Spec?.Hostname) ? pod.Metadata.Name : pod.Spec.Hostname;
        return name.Length <= 63 ? name : name[..63].TrimEnd('-', '.');
    }
}
