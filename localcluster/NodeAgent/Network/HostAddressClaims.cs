namespace K8sTraining.NodeAgent.Network;

/// <summary>
/// The machine's claims on pod addresses, shared by every node agent on it (in one process or many: every local
/// cluster's first node hands out 127.1.x.y). Like host-local IPAM's /var/lib/cni/networks directory, with one file per
/// address; here the claim is an exclusive lock on that file, held while the pod holds the address, so the kernel drops
/// it when the agent's process dies and a stale file claims nothing. Two agents never give one address to two live pods,
/// which would otherwise bind one address and port twice.
/// </summary>
public sealed class HostAddressClaims : IDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, FileStream> _held = new(StringComparer.Ordinal);

    /// <param name="directory">The shared directory (created when missing).</param>
    public HostAddressClaims(string directory)
    {
        Directory.CreateDirectory(directory);
        DirectoryPath = directory;
    }

    /// <summary>The machine-wide default: <c>$TMPDIR/k8straining-pod-addresses</c>.</summary>
    public static string DefaultDirectory => Path.Combine(Path.GetTempPath(), "k8straining-pod-addresses");

    public string DirectoryPath { get; }

    /// <summary>Claims <paramref name="address"/>; false when another agent (this process or another) holds it.</summary>
    public bool TryClaim(string address)
    {
        lock (_gate)
        {
            if (_held.ContainsKey(address))
            {
                return false;
            }

            try
            {
                // FileShare.None is an exclusive, non-blocking flock on Unix: refused while any other open file
                // description holds it, released when this one closes or its process ends.
                var file = new FileStream(Path.Combine(DirectoryPath, address), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                _held[address] = file;
                return true;
            }
            catch (IOException)
            {
                return false;
            }
        }
    }

    /// <summary>Gives the claim back (the file stays: removing it could race with another agent's claim).</summary>
    public void Release(string address)
    {
        lock (_gate)
        {
            if (_held.Remove(address, out var file))
            {
                file.Dispose();
            }
        }
    }

    /// <summary>Gives every claim back (the agent stopped, its pods' processes with it).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var file in _held.Values)
            {
                file.Dispose();
            }

            _held.Clear();
        }
    }
}
