using k8s.Models;

namespace K8sTraining.NodeAgent.Containers;

/// <summary>Reads the Secrets and ConfigMaps a pod refers to; null when the object does not exist.</summary>
public interface IConfigSource
{
    Task<V1Secret?> GetSecretAsync(string @namespace, string name, CancellationToken cancellationToken);

    Task<V1ConfigMap?> GetConfigMapAsync(string @namespace, string name, CancellationToken cancellationToken);
}
