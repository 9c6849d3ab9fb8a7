using System.Text;
using k8s.Models;

namespace K8sTraining.NodeAgent.Containers;

/// <summary>What the node knows about where a pod runs, for the downward API and the service variables.</summary>
public sealed record NodeContext(string HostIP, string PodIP, int Cpus, long MemoryBytes, IReadOnlyDictionary<string, string> ServiceEnvironment);

/// <summary>
/// Builds a container's environment from envFrom and env the way the kubelet does: envFrom first, then env in order
/// (later names win), $(VAR) in literal values expanded from what is defined so far plus the service variables,
/// secretKeyRef/configMapKeyRef/fieldRef/resourceFieldRef resolved, and in-container paths mapped to local ones.
/// </summary>
public sealed class ContainerEnvironment(IConfigSource configSource, NodeContext node)
{
    public async Task<IReadOnlyDictionary<string, string>> BuildAsync(V1Pod pod, V1Container container, PathMapper paths, CancellationToken cancellationToken)
    {
        var ns = pod.Metadata.NamespaceProperty ?? "default";
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        var order = new List<string>();

        void Set(string name, string value)
        {
            if (!env.ContainsKey(name))
            {
                order.Add(name);
            }

            env[name] = value;
        }

        foreach (var source in container.EnvFrom ?? [])
        {
            var prefix = source.Prefix ?? string.Empty;
            if (source.ConfigMapRef is { } configMapRef)
            {
                var configMap = await configSource.GetConfigMapAsync(ns, configMapRef.Name, cancellationToken).ConfigureAwait(false);
                if (configMap is null)
                {
                    if (configMapRef.Optional == true)
                    {
                        continue;
                    }

                    throw new ContainerConfigException($"configmap \"{configMapRef.Name}\" not found");
                }

                foreach (var (key, value) in configMap.Data ?? new Dictionary<string, string>())
                {
                    Set(prefix + key, paths.Rewrite(value));
                }
            }
            else if (source.SecretRef is { } secretRef)
            {
                var secret = await configSource.GetSecretAsync(ns, secretRef.Name, cancellationToken).ConfigureAwait(false);
                if (secret is null)
                {
                    if (secretRef.Optional == true)
                    {
                        continue;
                    }

                    throw new ContainerConfigException($"secret \"{secretRef.Name}\" not found");
                }

                foreach (var (key, value) in secret.Data ?? new Dictionary<string, byte[]>())
                {
                    Set(prefix + key, paths.Rewrite(Encoding.UTF8.GetString(value)));
                }
            }
        }

        string? Lookup(string name) =>
            env.TryGetValue(name, out var value) ? value
            : node.ServiceEnvironment.TryGetValue(name, out var service) ? service
            : null;

        foreach (var variable in container.Env ?? [])
        {
            if (!string.IsNullOrEmpty(variable.Value))
            {
                Set(variable.Name, VariableExpansion.Expand(paths.Rewrite(variable.Value), Lookup));
                continue;
            }

            if (variable.ValueFrom is null)
            {
                Set(variable.Name, string.Empty);
                continue;
            }

            var resolved = await ResolveAsync(pod, container, ns, variable.ValueFrom, cancellationToken).ConfigureAwait(false);
            if (resolved is not null)
            {
                Set(variable.Name, paths.Rewrite(resolved));
            }
        }

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in order)
        {
            result[name] = env[name];
        }

        return result;
    }

    private async Task<string?> ResolveAsync(V1Pod pod, V1Container container, string ns, V1EnvVarSource from, CancellationToken cancellationToken)
    {
        if (from.FieldRef is { } fieldRef)
        {
            return FieldPaths.Resolve(pod, fieldRef.FieldPath, node.HostIP, node.PodIP);
        }

        if (from.ResourceFieldRef is { } resourceRef)
        {
            var target = string.IsNullOrEmpty(resourceRef.ContainerName)
                ? container
                : pod.Spec.Containers.FirstOrDefault(c => c.Name == resourceRef.ContainerName)
                  ?? throw new ContainerConfigException($"container {resourceRef.ContainerName} not found");
            return FieldPaths.ResolveResource(target, resourceRef, node.Cpus, node.MemoryBytes);
        }

        if (from.SecretKeyRef is { } secretRef)
        {
            var optional = secretRef.Optional == true;
            var secret = await configSource.GetSecretAsync(ns, secretRef.Name, cancellationToken).ConfigureAwait(false);
            if (secret is null)
            {
                return optional ? null : throw new ContainerConfigException($"secret \"{secretRef.Name}\" not found");
            }

            if (secret.Data is null || !secret.Data.TryGetValue(secretRef.Key, out var bytes))
            {
                return optional ? null : throw new ContainerConfigException($"couldn't find key {secretRef.Key} in Secret {ns}/{secretRef.Name}");
            }

            return Encoding.UTF8.GetString(bytes);
        }

        if (from.ConfigMapKeyRef is { } configMapRef)
        {
            var optional = configMapRef.Optional == true;
            var configMap = await configSource.GetConfigMapAsync(ns, configMapRef.Name, cancellationToken).ConfigureAwait(false);
            if (configMap is null)
            {
                return optional ? null : throw new ContainerConfigException($"configmap \"{configMapRef.Name}\" not found");
            }

            if (configMap.Data is not null && configMap.Data.TryGetValue(configMapRef.Key, out var value))
            {
                return value;
            }

            if (configMap.BinaryData is not null && configMap.BinaryData.TryGetValue(configMapRef.Key, out var binary))
            {
                return Encoding.UTF8.GetString(binary);
            }

            return optional ? null : throw new ContainerConfigException($"couldn't find key {configMapRef.Key} in ConfigMap {ns}/{configMapRef.Name}");
        }

        return null;
    }
}
