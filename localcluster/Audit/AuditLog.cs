using System.Collections.Concurrent;
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

    /// <summary>
    /// Raised synchronously after each entry is recorded, in the order entries are recorded, as the request ends (the
    /// client may or may not hold the response yet): an observer can act right after a given write (the chaos suite
    /// kills the writer there). It runs under the log's lock and holds up the audit of every other request meanwhile,
    /// so it must be short; it may read <see cref="Entries"/>. An observer that throws does not fail the request.
    /// </summary>
    public event Action<AuditEntry>? Appended;

    public void Append(AuditEntry entry)
    {
        lock (_gate)
        {
            _entries.Add(entry);
            _file?.WriteLine(JsonSerializer.Serialize(entry, Json));
            Notify(entry);
        }
    }

    private void Notify(AuditEntry entry)
    {
        if (Appended is not { } observers)
        {
            return;
        }

        foreach (var observer in observers.GetInvocationList().Cast<Action<AuditEntry>>())
        {
            try
            {
                observer(entry);
            }
            catch (Exception e)
            {
                // One observer's bug must not turn a served request into a 500 or starve the observers after it.
                ObserverFailures.Enqueue(e);
            }
        }
    }

    /// <summary>What observers of <see cref="Appended"/> threw (kept, not rethrown, so a test can assert on them).</summary>
    public ConcurrentQueue<Exception> ObserverFailures { get; } = new();

    public void Dispose()
    {
        lock (_gate)
        {
            _file?.Dispose();
        }
    }
}
