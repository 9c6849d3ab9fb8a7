namespace K8sTraining.NodeAgent.Network;

/// <summary>
/// The node's pod network: gives each pod an address from <see cref="PodAddressPool"/>, keeps each pod's hosts file
/// (<see cref="PodHostsFile"/>) up to date as the headless Services' endpoints change, and names what a container
/// process needs in its environment for the pod network library (<see cref="PodNetworkLibrary"/>).
/// </summary>
public sealed class PodNetwork(PodAddressPool pool, string library)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, (PodIdentity Pod, string HostsFile, string? Written)> _attached = new(StringComparer.Ordinal);
    private IReadOnlyList<ServiceHostRecord> _records = [];

    public PodAddressPool Pool => pool;

    /// <summary>The pod network library's path (LD_PRELOAD).</summary>
    public string Library => library;

    /// <summary>Gives the pod (uid) its address and writes its hosts file; dispose the attachment when the pod ends.</summary>
    public PodAttachment Attach(string uid, string ns, string hostname, string? subdomain, string? previousAddress, string hostsFile)
    {
        var address = pool.Allocate(uid, previousAddress);
        var pod = new PodIdentity(ns, hostname, subdomain, address);
        lock (_gate)
        {
            _attached[uid] = (pod, hostsFile, null);
            Write(uid);
        }

        return new PodAttachment(this, uid, pod, hostsFile);
    }

    /// <summary>The headless Services' pods as cluster DNS now answers them: every attached pod's hosts file follows.</summary>
    public void UpdateRecords(IReadOnlyList<ServiceHostRecord> records)
    {
        lock (_gate)
        {
            _records = records;
            foreach (var uid in _attached.Keys.ToList())
            {
                Write(uid);
            }
        }
    }

    internal void Detach(string uid)
    {
        lock (_gate)
        {
            _attached.Remove(uid);
        }

        pool.Release(uid);
    }

    private void Write(string uid)
    {
        var (pod, path, written) = _attached[uid];
        var text = PodHostsFile.Render(pod, _records);
        if (text == written)
        {
            return;
        }

        // A reader sees the old file or the new one, never half of one.
        var temporary = $"{path}.tmp";
        File.WriteAllText(temporary, text);
        File.Move(temporary, path, overwrite: true);
        _attached[uid] = (pod, path, text);
    }
}

/// <summary>A pod's place on the pod network: its address, and the variables its container processes get.</summary>
public sealed class PodAttachment(PodNetwork network, string uid, PodIdentity pod, string hostsFile) : IDisposable
{
    private int _disposed;

    public string Address => pod.Address;

    public string HostsFile => hostsFile;

    /// <summary>The pod network library's variables for a container process; <paramref name="preload"/> is the
    /// LD_PRELOAD already asked for (the host's, the pod's), kept after the library.</summary>
    public IReadOnlyDictionary<string, string> Environment(string? preload) => PodNetworkLibrary.Environment(network.Library, pod, hostsFile, preload);

    /// <summary>The address goes back to the pool and the hosts file stops following the Services.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            network.Detach(uid);
        }
    }
}
