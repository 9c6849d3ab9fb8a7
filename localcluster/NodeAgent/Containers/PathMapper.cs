namespace K8sTraining.NodeAgent.Containers;

/// <summary>
/// Maps absolute in-container paths (volumeMount mountPaths, the terminationMessagePath) to the local paths that stand
/// for them, because the process sees the host file system instead of a container's.
/// </summary>
public sealed class PathMapper
{
    private readonly IReadOnlyList<(string ContainerPath, string LocalPath)> _mappings;

    public PathMapper(IEnumerable<(string ContainerPath, string LocalPath)> mappings)
    {
        _mappings = mappings
            .Select(m => (Trim(m.ContainerPath), m.LocalPath))
            .Where(m => m.Item1.Length > 1 && m.Item1.StartsWith('/'))
            .OrderByDescending(m => m.Item1.Length)
            .ToArray();
    }

    public static PathMapper Empty { get; } = new([]);

    public IReadOnlyList<(string ContainerPath, string LocalPath)> Mappings => _mappings;

    /// <summary>The local path for an absolute container path, or null when no mapping covers it.</summary>
    public string? MapPath(string path)
    {
        foreach (var (containerPath, localPath) in _mappings)
        {
            if (path == containerPath || path == containerPath + "/")
            {
                return localPath + path[containerPath.Length..];
            }

            if (path.StartsWith(containerPath + "/", StringComparison.Ordinal))
            {
                return localPath + path[containerPath.Length..];
            }
        }

        return null;
    }

    /// <summary>Rewrites a value that is a mapped path, or a `--flag=path` whose path is mapped; else returns it as is.</summary>
    public string Rewrite(string value)
    {
        if (value.Length == 0 || _mappings.Count == 0)
        {
            return value;
        }

        if (value[0] == '/')
        {
            return MapPath(value) ?? value;
        }

        var equals = value.IndexOf('=', StringComparison.Ordinal);
        if (value.StartsWith('-') && equals > 0 && equals + 1 < value.Length && value[equals + 1] == '/')
        {
            var mapped = MapPath(value[(equals + 1)..]);
            return mapped is null ? value : value[..(equals + 1)] + mapped;
        }

        return value;
    }

    private static string Trim(string path) => path.Length > 1 ? path.TrimEnd('/') : path;
}
