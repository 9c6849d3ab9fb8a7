using K8sTraining.Contract;
using Microsoft.Extensions.Logging;

namespace K8sTraining.Training.Storage;

/// <summary>
/// What this process knows of the remote checkpoints, shared by the restore and the commit path: the latest.json last
/// read or written, the checkpoint retention must never delete, the newest one committed, and the ones that failed
/// verification at restore.
/// </summary>
internal sealed partial class RemoteCheckpointState(S3CheckpointLocation location, ILogger logger)
{
    private readonly ILogger logger = logger;
    private readonly Lock gate = new();
    private LatestPointer? latest;
    private string? protectedCheckpoint;
    private long? committedStep;

    // Remote checkpoints that failed verification at restore: never counted by retention, never named by latest.json.
    private readonly HashSet<string> invalidRemote = new(StringComparer.Ordinal);

    /// <summary>The latest.json last read or committed; null when there is none or it was unreadable.</summary>
    public LatestPointer? Latest
    {
        get
        {
            lock (gate)
            {
                return latest;
            }
        }
        set
        {
            lock (gate)
            {
                latest = value;
            }
        }
    }

    /// <summary>The newest checkpoint known to be committed remotely; null when none.</summary>
    public long? CommittedStep
    {
        get
        {
            lock (gate)
            {
                return committedStep;
            }
        }
    }

    /// <summary>No latest.json: nothing remote, and the local newest checkpoint (if any) is protected from retention.</summary>
    public void RecordNothingRemote(long localNewestGlobalStep)
    {
        lock (gate)
        {
            latest = null;
            protectedCheckpoint = localNewestGlobalStep >= 0 ? CheckpointLayout.DirectoryName(localNewestGlobalStep) : null;
        }
    }

    /// <summary>Restored <paramref name="name"/>: it is committed, and retention never deletes it.</summary>
    public void RecordRestored(string name, long step)
    {
        lock (gate)
        {
            protectedCheckpoint = name;
            committedStep = step;
        }
    }

    public void RecordInvalid(string name)
    {
        lock (gate)
        {
            invalidRemote.Add(name);
        }
    }

    /// <summary>
    /// Resuming from the local checkpoint: retention never deletes it remotely, and when latest.json lists it, it is
    /// already durable there (a replacement elsewhere would resume from it too).
    /// </summary>
    public void ProtectLocalNewest(LatestPointer pointer, long localNewestGlobalStep)
    {
        lock (gate)
        {
            protectedCheckpoint = localNewestGlobalStep >= 0 ? CheckpointLayout.DirectoryName(localNewestGlobalStep) : null;
            if (protectedCheckpoint is not null && !invalidRemote.Contains(protectedCheckpoint)
                && (pointer.Checkpoint == protectedCheckpoint || pointer.Retained.Contains(protectedCheckpoint, StringComparer.Ordinal)))
            {
                committedStep = Math.Max(committedStep ?? -1, localNewestGlobalStep);
            }
        }
    }

    /// <summary>A checkpoint at <paramref name="step"/> is durable remotely.</summary>
    public void RecordCommitted(long step)
    {
        lock (gate)
        {
            committedStep = Math.Max(committedStep ?? -1, step);
        }
    }

    /// <summary>This process committed <paramref name="pointer"/>; returns the checkpoints that failed verification.</summary>
    public HashSet<string> RecordCommit(LatestPointer pointer, long step)
    {
        lock (gate)
        {
            latest = pointer;
            committedStep = Math.Max(committedStep ?? -1, step);
            return [.. invalidRemote];
        }
    }

    /// <summary>
    /// What retention must respect for a commit of <paramref name="committing"/>: the protected checkpoint, and the
    /// ones that failed verification (no longer <paramref name="committing"/>: its upload replaced the broken one).
    /// </summary>
    public (string? KeepAlways, HashSet<string> Invalid) ForRetention(string committing)
    {
        lock (gate)
        {
            invalidRemote.Remove(committing);
            return (protectedCheckpoint, [.. invalidRemote]);
        }
    }

    /// <summary>Parses latest.json; null (logged) when it is unreadable.</summary>
    public LatestPointer? TryParseLatest(byte[] bytes)
    {
        try
        {
            return RemoteCheckpointDocuments.ParseLatest(bytes);
        }
        catch (Exception e) when (e is InvalidDataException or System.Text.Json.JsonException)
        {
            LogLatestUnreadable(location.Uri(CheckpointLayout.LatestFileName), e.Message);
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Latest} is unreadable: {Reason}")]
    private partial void LogLatestUnreadable(string latest, string reason);
}
