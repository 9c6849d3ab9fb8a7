using Microsoft.Extensions.Logging;

namespace K8sTraining.Training.Storage;

/// <summary>
/// Checkpoints in S3-compatible storage: a background worker commits queued checkpoints (files, then manifest, then
/// latest.json) while training goes on, and a fresh node restores the newest one that verifies.
/// </summary>
/// <remarks>
/// Commit protocol, per checkpoint <c>step-N</c>: each file goes up and is verified (ETag = MD5 of the bytes sent, then a
/// stat for size and the SHA-256 in its metadata); then <c>step-N/manifest.json</c> (the checkpoint exists from here);
/// then <c>latest.json</c> naming it and the retained list, so neither resume nor retention ever lists the checkpoints;
/// then checkpoints that fell out of the retained list are deleted, manifest first.
/// Fencing (with TRAINER_ATTEMPT): at start the attempt refuses to run when a newer attempt's fence or commit is there,
/// then writes its own fence (<c>fences/attempt-N.json</c>); before every file, manifest, commit and delete it lists the
/// fences; latest.json is read with its ETag, refused when a newer attempt committed it, written with If-Match (or
/// If-None-Match: *) and read back. A stale attempt stops uploading for good and the loop exits 76 (see trainer/README.md).
/// The restore path is <see cref="S3CheckpointRestorer"/>; the commit path is <see cref="S3UploadQueue"/> (staging, the
/// background worker, retries) and <see cref="S3CheckpointCommit"/> (the protocol for one checkpoint). They share
/// what is known of the remote checkpoints (<see cref="RemoteCheckpointState"/>), the fences (<see cref="FenceGuard"/>)
/// and the retry policy (<see cref="RemoteRetry"/>).
/// </remarks>
public sealed class S3CheckpointStore : IRemoteCheckpointStore
{
    private readonly S3StoreOptions options;
    private readonly IObjectStorage objects;
    private readonly RemoteCheckpointState state;
    private readonly FenceGuard fence;
    private readonly S3CheckpointRestorer restorer;
    private readonly S3UploadQueue uploads;
    private int disposed;

    public S3CheckpointStore(S3StoreOptions options, ILogger<S3CheckpointStore> logger, Metrics.TrainerMetrics? metrics = null)
        : this(options, new S3ObjectClient(options), logger, metrics)
    {
    }

    /// <summary>Over another object store (a test double that enforces conditional writes).</summary>
    internal S3CheckpointStore(S3StoreOptions options, IObjectStorage objects, ILogger<S3CheckpointStore> logger, Metrics.TrainerMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.options = options;
        this.objects = objects;
        state = new RemoteCheckpointState(options.Location, logger);
        fence = new FenceGuard(options, objects, logger);
        var retry = new RemoteRetry(options, logger);
        restorer = new S3CheckpointRestorer(options, objects, state, fence, retry, logger);
        uploads = new S3UploadQueue(options, state, fence, retry, new S3CheckpointCommit(options, objects, state, fence, logger, metrics), logger);
    }

    public string Location => options.Location.ToString();

    public int Backlog => uploads.Backlog;

    /// <summary>
    /// The newest checkpoint known to be committed remotely: uploaded by this process, restored from the store, or the
    /// local one resumed from when latest.json lists it; null when none.
    /// </summary>
    public long? NewestCommittedGlobalStep => state.CommittedStep;

    /// <summary>The proof that a newer attempt took over the prefix; null while this attempt may upload.</summary>
    public SupersededException? Superseded => fence.Superseded;

    public Task ValidateAsync(CancellationToken cancellationToken) => restorer.ValidateAsync(cancellationToken);

    public Task<long?> RestoreNewestAsync(string localCheckpointRoot, long localNewestGlobalStep, CancellationToken cancellationToken) =>
        restorer.RestoreNewestAsync(localCheckpointRoot, localNewestGlobalStep, cancellationToken);

    public void Enqueue(string localCheckpointDirectory) => uploads.Enqueue(localCheckpointDirectory);

    /// <summary>
    /// Queues a complete checkpoint directory <c>step-NNNNNNNNNNNN</c> written by any program, without a manifest of
    /// ours (the checkpoint-sync sidecar's path): its files are hashed now, and the manifest built from them, with
    /// <paramref name="epoch"/> and <paramref name="stepInEpoch"/>, goes up last by the same commit protocol. A
    /// directory that cannot be described (a subdirectory, a manifest.json of its own) is logged and counts as not uploaded.
    /// </summary>
    public void EnqueueDirectory(string localCheckpointDirectory, int epoch, int stepInEpoch) => uploads.EnqueueDirectory(localCheckpointDirectory, epoch, stepInEpoch);

    public Task<RemoteFlushResult> FlushAsync(TimeSpan timeout, CancellationToken cancellationToken) => uploads.FlushAsync(timeout, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 1)
        {
            return;
        }
        await uploads.DisposeAsync().ConfigureAwait(false);
        objects.Dispose();
    }
}
