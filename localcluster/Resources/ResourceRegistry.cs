using System.Collections.Concurrent;

namespace K8sTraining.LocalCluster.Resources;

/// <summary>The served resources: built-in ones and those registered by CustomResourceDefinitions.</summary>
public sealed class ResourceRegistry
{
    private readonly ConcurrentDictionary<(string Group, string Version, string Plural), ResourceType> _types = new();
    private readonly ConcurrentDictionary<string, IReadOnlyList<ResourceType>> _byCrd = new();
    private readonly List<(string Group, string Version)> _builtinOrder = [];

    public ResourceRegistry()
    {
        foreach (var t in BuiltinResources.All)
        {
            _types[(t.Group, t.Version, t.Plural)] = t;
            if (!_builtinOrder.Contains((t.Group, t.Version)))
            {
                _builtinOrder.Add((t.Group, t.Version));
            }
        }
    }

    public ResourceType? Find(string group, string version, string plural) =>
        _types.TryGetValue((group, version, plural), out var t) ? t : null;

    public IEnumerable<ResourceType> InGroupVersion(string group, string version) =>
        _types.Values.Where(t => t.Group == group && t.Version == version).OrderBy(t => t.Plural, StringComparer.Ordinal);

    /// <summary>Any served version of a storage key (for the garbage collector and cleanup).</summary>
    public ResourceType? ByStorageKey(string storageKey) =>
        _types.Values.Where(t => t.StorageKey == storageKey).OrderBy(t => t.Version, StringComparer.Ordinal).FirstOrDefault();

    public IEnumerable<ResourceType> StorageTypes() =>
        _types.Values.GroupBy(t => t.StorageKey).Select(g => g.First());

    /// <summary>Group names with their served versions, built-in groups first, then custom ones by name.</summary>
    public IReadOnlyList<(string Group, IReadOnlyList<string> Versions)> Groups()
    {
        var result = new List<(string, IReadOnlyList<string>)>();
        foreach (var g in _builtinOrder.Select(x => x.Group).Where(g => g.Length > 0).Distinct())
        {
            result.Add((g, _builtinOrder.Where(x => x.Group == g).Select(x => x.Version).ToList()));
        }

        foreach (var g in _byCrd.Values.SelectMany(v => v).Select(t => t.Group).Distinct().Order(StringComparer.Ordinal))
        {
            if (result.Any(r => r.Item1 == g))
            {
                continue;
            }

            var versions = _byCrd.Values.SelectMany(v => v).Where(t => t.Group == g).Select(t => t.Version).Distinct()
                .OrderByDescending(VersionPriority).ToList();
            result.Add((g, versions));
        }

        return result;
    }

    public void RegisterCrd(string crdName, IReadOnlyList<ResourceType> versions)
    {
        UnregisterCrd(crdName);
        _byCrd[crdName] = versions;
        foreach (var t in versions)
        {
            _types[(t.Group, t.Version, t.Plural)] = t;
        }
    }

    public void UnregisterCrd(string crdName)
    {
        if (_byCrd.TryRemove(crdName, out var old))
        {
            foreach (var t in old)
            {
                _types.TryRemove((t.Group, t.Version, t.Plural), out _);
            }
        }
    }

    /// <summary>Kubernetes version priority: GA over beta over alpha, higher numbers first.</summary>
    public static int VersionPriority(string version)
    {
        var m = System.Text.RegularExpressions.Regex.Match(version, @"^v(\d+)(?:(alpha|beta)(\d+))?$");
        if (!m.Success)
        {
            return 0;
        }

        var major = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        var stage = m.Groups[2].Value switch { "" => 3, "beta" => 2, _ => 1 };
        var minor = m.Groups[3].Success ? int.Parse(m.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
        return (stage * 1_000_000) + (major * 1000) + minor;
    }
}
