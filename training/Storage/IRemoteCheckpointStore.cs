namespace K8sTraining.Training.Storage;

/// <summary>Keeps checkpoints beyond the node, in S3-compatible object storage, so a replacement pod anywhere can resume.</summary>
/// <remarks>
/// The contract between the training loop (trainer/Training, trainer/Checkpoints) and remote storage (trainer/Storage).
/// A local checkpoint is a directory <c>step-NNNNNNNNNNNN</c> (global step, 12 digits) under --checkpoint-dir holding
/// its files and, written last, <c>manifest.json</c> (see Checkpoints/CheckpointManifest). The remote layout mirrors it.
/// </remarks>
public interface IRemoteCheckpointStore : IAsyncDisposable
{
    /// <summary>The location for messages and the termination log, e.g. <c>s3://bucket/prefix</c>; never credentials.</summary>
    string Location { get; }

    /// <summary>Checkpoints committed remotely but not yet uploaded (queued or in flight).</summary>
    int Backlog { get; }

    /// <summary>The newest checkpoint known to be committed remotely (restored from, or uploaded by this process), or null.</summary>
    long? NewestCommittedGlobalStep { get; }

    /// <summary>
    /// Checks the storage at start-up, and the prefix's owner when the store has one (owner.json); with an attempt,
    /// refuses to start when a newer attempt fenced or committed (<see cref="SupersededException"/>, exit 76) and writes
    /// this attempt's fence. Throws
    /// <see cref="RemoteStoreConfigurationException"/> for wrong credentials, a missing bucket or a malformed URI (exit 2),
    /// <see cref="CheckpointPrefixInUseException"/> when another job owns the prefix (exit 2),
    /// <see cref="RemoteStoreUnavailableException"/> once storage has stayed unreachable past the bounded retry (exit 69).
    /// </summary>
    Task ValidateAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Downloads the newest remote checkpoint whose files verify into <paramref name="localCheckpointRoot"/>, when it is
    /// newer than <paramref name="localNewestGlobalStep"/> (-1 when the local directory holds none). Returns the global
    /// step of the downloaded checkpoint, or null when nothing newer exists remotely.
    /// </summary>
    Task<long?> RestoreNewestAsync(string localCheckpointRoot, long localNewestGlobalStep, CancellationToken cancellationToken);

    /// <summary>
    /// Queues a complete local checkpoint directory for background upload and returns at once. The store takes what it
    /// needs before returning (local retention may delete the directory afterwards).
    /// </summary>
    void Enqueue(string localCheckpointDirectory);

    /// <summary>Waits until every queued checkpoint is committed remotely, or the timeout passes.</summary>
    Task<RemoteFlushResult> FlushAsync(TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>
    /// Set once a newer attempt of the job has fenced the prefix or committed to it: nothing more is uploaded, and the
    /// training loop stops with exit 76. Always null for a store without fencing.
    /// </summary>
    SupersededException? Superseded => null;
}

/// <summary>What a flush achieved: whether all is committed, the newest committed checkpoint's URI, what is left.</summary>
public sealed record RemoteFlushResult(bool AllCommitted, string? NewestCommittedUri, long? NewestCommittedGlobalStep, int Backlog);

/// <summary>Storage is misconfigured (credentials, bucket, URI): the user must fix something. Maps to exit 2.</summary>
public sealed class RemoteStoreConfigurationException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Storage could not be reached within the bounded start-up retry. Maps to exit 69 (storage unavailable).</summary>
public sealed class RemoteStoreUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Storage answered, but what it holds cannot be used (latest.json unreadable, no listed checkpoint verifies): the
/// trainer will not silently start from scratch. A person must repair or delete latest.json, so it maps to exit 2
/// (InvalidConfiguration) with this message, like any other input the trainer cannot use.
/// </summary>
public sealed class RemoteCheckpointDamagedException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// A newer attempt of the same job (<see cref="NewerAttempt"/>) fenced the checkpoint prefix or committed to it: this
/// attempt (<see cref="Attempt"/>) is stale and must stop. Maps to exit 76 with reason Superseded.
/// </summary>
public sealed class SupersededException(string message, int attempt, int newerAttempt) : Exception(message)
{
    public int Attempt { get; } = attempt;

    public int NewerAttempt { get; } = newerAttempt;
}

/// <summary>
/// The --checkpoint-uri prefix holds another job's checkpoints (owner.json names another uid, or checkpoints exist
/// without one). Maps to exit 2 with reason CheckpointPrefixInUse.
/// </summary>
public sealed class CheckpointPrefixInUseException(string message) : Exception(message);
