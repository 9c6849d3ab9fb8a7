using System.Text;
using K8sTraining.NodeAgent.Containers;
using k8s.Models;

namespace K8sTraining.LocalCluster.Tests.NodeAgent;

internal sealed class FakeConfigSource : IConfigSource
{
    private readonly Dictionary<string, V1Secret> _secrets = [];
    private readonly Dictionary<string, V1ConfigMap> _configMaps = [];

    public FakeConfigSource WithSecret(string ns, string name, params (string Key, string Value)[] data)
    {
        _secrets[$"{ns}/{name}"] = new V1Secret { Data = data.ToDictionary(d => d.Key, d => Encoding.UTF8.GetBytes(d.Value)) };
        return this;
    }

    public FakeConfigSource WithConfigMap(string ns, string name, params (string Key, string Value)[] data)
    {
        _configMaps[$"{ns}/{name}"] = new V1ConfigMap { Data = data.ToDictionary(d => d.Key, d => d.Value) };
        return this;
    }

    public Task<V1Secret?> GetSecretAsync(string @namespace, string name, CancellationToken cancellationToken) =>
        Task.FromResult(_secrets.GetValueOrDefault($"{@namespace}/{name}"));

    public Task<V1ConfigMap?> GetConfigMapAsync(string @namespace, string name, CancellationToken cancellationToken) =>
        Task.FromResult(_configMaps.GetValueOrDefault($"{@namespace}/{name}"));
}
