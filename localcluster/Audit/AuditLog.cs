using System.Text.Json;
using System.Text.Json.Serialization;

namespace K8sTraining.LocalCluster.Audit;

/// <summary>One API request as RBAC sees it.</summary>
public sealed record AuditEntry(
    DateTimeOffset Time,
    string Verb,
    string Group,
    string Version,
    string Resource,
    string Subresource,
    string Namespace,
    string Name,
    int Code,
    string UserAgent,
    string Path)
{
    /// <summary>"list pods", "update trainingjobs.k8straining.io/status": handy for RBAC comparisons.</summary>
    public string Permission => $"{Verb} {(Group.Length == 0 ? Resource : $"{Resource}.{Group}")}{(Subresource.Length > 0 ? "/" + Subresource : "")}";
}

/// <summary>The request audit hook: every request in memory, and as JSON lines in a file when one is given.</summary>
public sealed class AuditLog : IDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    private readonly Lock _gate = new();
    private readonly List<AuditEntry> _entries = [];
    private readonly StreamWriter? _file;

    public AuditLog(string? path)
    {
        if (!string.IsNullOrEmpty(path))
        {
            var dir = Path.GetDirectoryName(Path.GetFullPath(path));
            if (dir is not null)
            {
                Directory.CreateDirectory(dir);
            }

            _file = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        }
    }

    public IReadOnlyList<AuditEntry> Entries
    {
        get
        {
            lock (_gate)
            {
                return _entries.ToList();
            }
        }
    }

    public void Append(AuditEntry entry)
    {
        lock (_gate)
        {
            _entries.Add(entry);
            _file?.WriteLine(JsonSerializer.Serialize(entry, Json));
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _file?.Dispose();
        }
    }
}
