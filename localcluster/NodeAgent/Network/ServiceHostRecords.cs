using k8s.Models;

namespace K8sTraining.NodeAgent.Network;

/// <summary>One pod name that cluster DNS answers: <c>hostname.service.namespace.svc.cluster.local</c> at an address.</summary>
public sealed record ServiceHostRecord(string Namespace, string Service, string Hostname, string Address);

/// <summary>
/// What cluster DNS (CoreDNS's kubernetes plugin) serves for headless Services' pods, read from their EndpointSlices:
/// every endpoint with a hostname (the EndpointSlice controller sets it for a pod whose subdomain names the Service)
/// whose conditions.ready is true (the controller sets it for a not-ready pod too when the Service has
/// publishNotReadyAddresses); slices of Services that are not headless give none.
/// </summary>
public static class ServiceHostRecords
{
    public const string ServiceNameLabel = "kubernetes.io/service-name";
    public const string HeadlessLabel = "service.kubernetes.io/headless";

    public static IReadOnlyList<ServiceHostRecord> From(IEnumerable<V1EndpointSlice> slices)
    {
        var records = new List<ServiceHostRecord>();
        foreach (var slice in slices)
        {
            var labels = slice.Metadata?.Labels;
            if (labels is null || !labels.ContainsKey(HeadlessLabel) || !labels.TryGetValue(ServiceNameLabel, out var service)
                || slice.AddressType is not ("IPv4" or "IPv6"))
            {
                continue;
            }

            foreach (var endpoint in slice.Endpoints ?? [])
            {
                // The API: a nil ready condition is read as ready.
                if (string.IsNullOrEmpty(endpoint.Hostname) || endpoint.Conditions?.Ready == false || endpoint.Addresses is not { Count: > 0 })
                {
                    continue;
                }

                records.Add(new ServiceHostRecord(slice.Metadata!.NamespaceProperty ?? "default", service, endpoint.Hostname, endpoint.Addresses[0]));
            }
        }

        return records
            .OrderBy(r => r.Namespace, StringComparer.Ordinal).ThenBy(r => r.Service, StringComparer.Ordinal)
            .ThenBy(r => r.Hostname, StringComparer.Ordinal).ThenBy(r => r.Address, StringComparer.Ordinal)
            .Distinct().ToList();
    }
}
