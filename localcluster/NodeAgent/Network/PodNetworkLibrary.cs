namespace K8sTraining.NodeAgent.Network;

/// <summary>
/// The pod network library (Network/podnet.c, built with the node agent as libk8straining_podnet.so beside its
/// assembly): where it is, and the variables that configure it in a container process.
/// </summary>
public static class PodNetworkLibrary
{
    public const string FileName = "libk8straining_podnet.so";
    public const string AddressVariable = "K8STRAINING_PODNET_ADDRESS";
    public const string HostnameVariable = "K8STRAINING_PODNET_HOSTNAME";
    public const string HostsVariable = "K8STRAINING_PODNET_HOSTS";
    public const string PreloadVariable = "LD_PRELOAD";

    /// <summary>The library beside the node agent's assembly (copied there by the build), or a clear error.</summary>
    public static string Find(string? configured = null)
    {
        var path = configured ?? Path.Combine(AppContext.BaseDirectory, FileName);
        return File.Exists(path)
            ? Path.GetFullPath(path)
            : throw new FileNotFoundException(
                $"the pod network library {path} is missing: it is built from localcluster/NodeAgent/Network/podnet.c with gcc when the node agent builds (dotnet build, make publish); build again, or set NodeAgentOptions.PodNetworkLibrary",
                path);
    }

    /// <summary>LD_PRELOAD with the library first, then every entry of <paramref name="preload"/> (space or colon
    /// separated) not already there; and the pod's address, hostname and hosts file.</summary>
    public static IReadOnlyDictionary<string, string> Environment(string library, PodIdentity pod, string hostsFile, string? preload)
    {
        var entries = new List<string> { library };
        foreach (var entry in (preload ?? string.Empty).Split([' ', ':'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (!entries.Contains(entry, StringComparer.Ordinal))
            {
                entries.Add(entry);
            }
        }

        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [PreloadVariable] = string.Join(':', entries),
            [AddressVariable] = pod.Address,
            [HostnameVariable] = pod.Hostname,
            [HostsVariable] = hostsFile,
        };
    }
}
