using System.Text;
using K8sTraining.NodeAgent.Containers;
using k8s.Models;

namespace K8sTraining.NodeAgent.Pods;

/// <summary>
/// A pod's directory on the node, laid out like the kubelet's: volumes/, containers/&lt;name&gt;/ (logs, termination
/// message), plus home/ and tmp/ since the processes have no container file system of their own.
/// </summary>
internal sealed class PodDirectory(string root, V1Pod pod)
{
    public string Path { get; } = System.IO.Path.Combine(root, "pods",
        $"{pod.Metadata.NamespaceProperty ?? "default"}_{pod.Metadata.Name}_{pod.Metadata.Uid}");

    public string Home => System.IO.Path.Combine(Path, "home");

    public string Temp => System.IO.Path.Combine(Path, "tmp");

    /// <summary>The pod's hosts file (the kubelet's etc-hosts), which the pod network library reads.</summary>
    public string HostsFile => System.IO.Path.Combine(Path, "etc-hosts");

    public string ContainerDirectory(string container) => System.IO.Path.Combine(Path, "containers", container);

    public string LogFile(string container, int restartCount) => System.IO.Path.Combine(ContainerDirectory(container), $"{restartCount}.log");

    public string TerminationMessageFile(string container) => System.IO.Path.Combine(ContainerDirectory(container), "termination-log");

    public string PidFile(string container) => System.IO.Path.Combine(ContainerDirectory(container), "pid");

    /// <summary>Removes what the pod's deletion takes with it (volume contents, home, tmp); container logs stay for
    /// debugging. hostPath volumes are the host's and are left alone.</summary>
    public void RemoveVolumes()
    {
        foreach (var directory in new[] { System.IO.Path.Combine(Path, "volumes"), Home, Temp })
        {
            try
            {
                if (Directory.Exists(directory))
                {
                    Directory.Delete(directory, recursive: true);
                }
            }
            catch (IOException)
            {
                // Best effort, as the kubelet's orphaned-pod cleanup retries later; ours does not.
            }
            catch (UnauthorizedAccessException)
            {
                // Same.
            }
        }
    }

    public void Create()
    {
        Directory.CreateDirectory(Home);
        Directory.CreateDirectory(Temp);
        foreach (var container in (pod.Spec.InitContainers ?? []).Concat(pod.Spec.Containers))
        {
            Directory.CreateDirectory(ContainerDirectory(container.Name));
        }
    }

    /// <summary>Creates every volume's directory (with the files of secret, configMap and downwardAPI volumes) and
    /// returns volume name to local path.</summary>
    public async Task<IReadOnlyDictionary<string, string>> MountVolumesAsync(IConfigSource configSource, NodeContext node, CancellationToken cancellationToken)
    {
        var ns = pod.Metadata.NamespaceProperty ?? "default";
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var volume in pod.Spec.Volumes ?? [])
        {
            if (volume.HostPath is { } hostPath)
            {
                if (hostPath.Type is "DirectoryOrCreate" or null or "")
                {
                    Directory.CreateDirectory(hostPath.Path);
                }

                result[volume.Name] = hostPath.Path;
                continue;
            }

            var plugin = volume switch
            {
                { EmptyDir: not null } => "kubernetes.io~empty-dir",
                { Secret: not null } => "kubernetes.io~secret",
                { ConfigMap: not null } => "kubernetes.io~configmap",
                { DownwardAPI: not null } => "kubernetes.io~downward-api",
                { Projected: not null } => "kubernetes.io~projected",
                _ => "kubernetes.io~local-volume",
            };
            var path = System.IO.Path.Combine(Path, "volumes", plugin, volume.Name);
            Directory.CreateDirectory(path);
            result[volume.Name] = path;

            if (volume.Secret is { } secret)
            {
                await WriteSecretAsync(configSource, ns, secret.SecretName, secret.Items, secret.Optional, path, cancellationToken).ConfigureAwait(false);
            }
            else if (volume.ConfigMap is { } configMap)
            {
                await WriteConfigMapAsync(configSource, ns, configMap.Name, configMap.Items, configMap.Optional, path, cancellationToken).ConfigureAwait(false);
            }
            else if (volume.DownwardAPI is { } downward)
            {
                WriteDownward(downward.Items, node, path);
            }
            else if (volume.Projected is { } projected)
            {
                foreach (var source in projected.Sources ?? [])
                {
                    if (source.Secret is { } s)
                    {
                        await WriteSecretAsync(configSource, ns, s.Name, s.Items, s.Optional, path, cancellationToken).ConfigureAwait(false);
                    }
                    else if (source.ConfigMap is { } c)
                    {
                        await WriteConfigMapAsync(configSource, ns, c.Name, c.Items, c.Optional, path, cancellationToken).ConfigureAwait(false);
                    }
                    else if (source.DownwardAPI is { } d)
                    {
                        WriteDownward(d.Items, node, path);
                    }
                }
            }
        }

        return result;
    }

    private static async Task WriteSecretAsync(IConfigSource source, string ns, string name, IList<V1KeyToPath>? items, bool? optional, string path, CancellationToken cancellationToken)
    {
        var secret = await source.GetSecretAsync(ns, name, cancellationToken).ConfigureAwait(false);
        if (secret is null)
        {
            if (optional == true)
            {
                return;
            }

            throw new ContainerConfigException($"MountVolume.SetUp failed: secret \"{name}\" not found");
        }

        WriteKeys(secret.Data ?? new Dictionary<string, byte[]>(), items, path, $"Secret {ns}/{name}", optional);
    }

    private static async Task WriteConfigMapAsync(IConfigSource source, string ns, string name, IList<V1KeyToPath>? items, bool? optional, string path, CancellationToken cancellationToken)
    {
        var configMap = await source.GetConfigMapAsync(ns, name, cancellationToken).ConfigureAwait(false);
        if (configMap is null)
        {
            if (optional == true)
            {
                return;
            }

            throw new ContainerConfigException($"MountVolume.SetUp failed: configmap \"{name}\" not found");
        }

        var data = (configMap.Data ?? new Dictionary<string, string>()).ToDictionary(kv => kv.Key, kv => Encoding.UTF8.GetBytes(kv.Value));
        foreach (var (key, value) in configMap.BinaryData ?? new Dictionary<string, byte[]>())
        {
            data[key] = value;
        }

        WriteKeys(data, items, path, $"ConfigMap {ns}/{name}", optional);
    }

    private static void WriteKeys(IDictionary<string, byte[]> data, IList<V1KeyToPath>? items, string path, string what, bool? optional)
    {
        var files = items is { Count: > 0 }
            ? items.Select(i => (i.Key, i.Path))
            : data.Keys.Select(k => (Key: k, Path: k));
        foreach (var (key, relative) in files)
        {
            if (!data.TryGetValue(key, out var value))
            {
                if (optional == true)
                {
                    continue;
                }

                throw new ContainerConfigException($"MountVolume.SetUp failed: couldn't find key {key} in {what}");
            }

            var file = System.IO.Path.Combine(path, relative);
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(file)!);
            File.WriteAllBytes(file, value);
        }
    }

    private void WriteDownward(IList<V1DownwardAPIVolumeFile>? items, NodeContext node, string path)
    {
        foreach (var item in items ?? [])
        {
            string value;
            if (item.FieldRef is { } fieldRef)
            {
                value = fieldRef.FieldPath switch
                {
                    "metadata.labels" => Format(pod.Metadata.Labels),
                    "metadata.annotations" => Format(pod.Metadata.Annotations),
                    _ => FieldPaths.Resolve(pod, fieldRef.FieldPath, node.HostIP, node.PodIP),
                };
            }
            else if (item.ResourceFieldRef is { } resourceRef)
            {
                var container = pod.Spec.Containers.FirstOrDefault(c => c.Name == resourceRef.ContainerName) ?? pod.Spec.Containers[0];
                value = FieldPaths.ResolveResource(container, resourceRef, node.Cpus, node.MemoryBytes);
            }
            else
            {
                continue;
            }

            var file = System.IO.Path.Combine(path, item.Path);
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(file)!);
            File.WriteAllText(file, value);
        }
    }

    private static string Format(IDictionary<string, string>? map) =>
        map is null ? string.Empty : string.Join('\n', map.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}=\"{kv.Value}\""));
}
