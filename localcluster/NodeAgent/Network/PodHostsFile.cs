using System.Text;

namespace K8sTraining.NodeAgent.Network;

/// <summary>Who a pod is on the pod network: the name its processes see and the address they bind.</summary>
public sealed record PodIdentity(string Namespace, string Hostname, string? Subdomain, string Address);

/// <summary>
/// A pod's hosts file, which the pod network library reads before the real resolver: first the kubelet's own line
/// (<c>address fqdn hostname</c> with a subdomain, else <c>address hostname</c>), then what cluster DNS would answer
/// for the headless Services' pods: <c>hostname.service.namespace.svc</c> and <c>.svc.cluster.local</c> for every
/// namespace, and <c>hostname.service</c> for the pod's own namespace (the DNS search path's short form).
/// </summary>
public static class PodHostsFile
{
    public const string ClusterDomain = "cluster.local";

    public static string Render(PodIdentity pod, IReadOnlyList<ServiceHostRecord> records)
    {
        var text = new StringBuilder("# Kubernetes-managed hosts file (the local cluster's node agent; rewritten as Services' endpoints change).\n");
        text.Append(pod.Address).Append('\t');
        if (!string.IsNullOrEmpty(pod.Subdomain))
        {
            text.Append(pod.Hostname).Append('.').Append(pod.Subdomain).Append('.').Append(pod.Namespace).Append(".svc.").Append(ClusterDomain).Append('\t');
        }

        text.Append(pod.Hostname).Append('\n');
        foreach (var record in records)
        {
            text.Append(record.Address).Append('\t');
            if (record.Namespace == pod.Namespace)
            {
                text.Append(record.Hostname).Append('.').Append(record.Service).Append(' ');
            }

            var qualified = $"{record.Hostname}.{record.Service}.{record.Namespace}.svc";
            text.Append(qualified).Append(' ').Append(qualified).Append('.').Append(ClusterDomain).Append('\n');
        }

        return text.ToString();
    }
}
