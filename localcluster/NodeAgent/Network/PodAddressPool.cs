using System.Globalization;
using System.Net;

namespace K8sTraining.NodeAgent.Network;

/// <summary>
/// The node's pod addresses, as a CNI's host-local IPAM hands them out: one /16 of 127.0.0.0/8 per node (node
/// 127.0.0.i gets 127.i.0.0/16, away from the nodes' own 127.0.0.i), addresses 127.i.x.1 to 127.i.x.254, given round
/// robin after the last one given (so a released address is not reused at once), released when the pod ends. With
/// <see cref="HostAddressClaims"/>, an address another agent on the machine holds is skipped.
/// </summary>
public sealed class PodAddressPool
{
    /// <summary>Usable addresses in a range: 256 third octets times 1..254 in the fourth.</summary>
    public const int Capacity = 256 * 254;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, int> _byOwner = new(StringComparer.Ordinal);
    private readonly HashSet<int> _used = [];
    private readonly byte _second;
    private readonly HostAddressClaims? _claims;
    private int _last = -1;

    /// <param name="range">A /16 inside 127.0.0.0/8 other than 127.0.0.0/16, written 127.N.0.0/16.</param>
    /// <param name="claims">The machine's claims, shared with the other agents; null: this pool alone decides.</param>
    public PodAddressPool(string range, HostAddressClaims? claims = null)
    {
        _second = ParseRange(range);
        Range = range;
        _claims = claims;
    }

    public string Range { get; }

    /// <summary>The default range of a node whose HostIP is 127.0.0.i: 127.i.0.0/16.</summary>
    public static string DefaultRangeFor(string hostIP)
    {
        if (IPAddress.TryParse(hostIP, out var ip) && ip.GetAddressBytes() is [127, 0, 0, var i and >= 1 and <= 254])
        {
            return $"127.{i.ToString(CultureInfo.InvariantCulture)}.0.0/16";
        }

        throw new ArgumentException(
            $"the node's HostIP {hostIP} is not 127.0.0.i (i in 1..254), so it has no default pod address range: set NodeAgentOptions.PodAddressRange to a /16 such as 127.200.0.0/16",
            nameof(hostIP));
    }

    /// <summary>The address of <paramref name="owner"/> (a pod uid): the one it holds, else <paramref name="preferred"/>
    /// when it is in the range and free (a pod the agent adopts after a restart keeps its address), else the next free one.</summary>
    public string Allocate(string owner, string? preferred = null)
    {
        lock (_gate)
        {
            if (_byOwner.TryGetValue(owner, out var held))
            {
                return Format(held);
            }

            var index = preferred is not null && TryIndex(preferred, out var wanted) && !_used.Contains(wanted) && Claim(wanted) ? wanted : NextFree();
            _byOwner[owner] = index;
            _used.Add(index);
            _last = index;
            return Format(index);
        }
    }

    /// <summary>Gives the owner's address back (nothing when it holds none).</summary>
    public void Release(string owner)
    {
        lock (_gate)
        {
            if (_byOwner.Remove(owner, out var index))
            {
                _used.Remove(index);
                _claims?.Release(Format(index));
            }
        }
    }

    /// <summary>How many addresses are given out.</summary>
    public int InUse
    {
        get
        {
            lock (_gate)
            {
                return _used.Count;
            }
        }
    }

    private int NextFree()
    {
        for (var step = 1; step <= Capacity; step++)
        {
            var candidate = (_last + step) % Capacity;
            if (!_used.Contains(candidate) && Claim(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException(_claims is null
            ? $"the node's pod address range {Range} is exhausted ({Capacity} pods hold an address)"
            : $"the node's pod address range {Range} is exhausted ({_used.Count} pods of this node hold an address, other node agents with this range on the machine the rest; claims in {_claims.DirectoryPath})");
    }

    private bool Claim(int index) => _claims?.TryClaim(Format(index)) ?? true;

    private string Format(int index) =>
        string.Create(CultureInfo.InvariantCulture, $"127.{_second}.{index / 254}.{(index % 254) + 1}");

    private bool TryIndex(string address, out int index)
    {
        index = -1;
        if (!IPAddress.TryParse(address, out var ip) || ip.GetAddressBytes() is not [127, var second, var third, var fourth and >= 1 and <= 254] || second != _second)
        {
            return false;
        }

        index = (third * 254) + fourth - 1;
        return true;
    }

    private static byte ParseRange(string range)
    {
        var parts = range.Split('/');
        if (parts.Length == 2 && parts[1] == "16" && IPAddress.TryParse(parts[0], out var ip)
            && ip.GetAddressBytes() is [127, var second and >= 1, 0, 0])
        {
            return second;
        }

        throw new ArgumentException($"pod address range '{range}' is not a /16 of 127.0.0.0/8 written 127.N.0.0/16 with N in 1..255 (127.0.0.0/16 holds the nodes' own addresses)", nameof(range));
    }
}
