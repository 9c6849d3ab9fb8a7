using System.Diagnostics;
using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;
using Microsoft.Extensions.Logging;

namespace K8sTraining.Training.Storage;

/// <summary>A local checkpoint staged for upload: its name, step, private copy, manifest (and its exact bytes), when queued.</summary>
internal sealed record StagedCheckpoint(string Name, long GlobalStep, string StagingDirectory, CheckpointManifest Manifest, byte[] ManifestBytes, long QueuedAt);

/// <summary>
/// The commit protocol for one staged checkpoint: its files, then its manifest, then latest.json written conditionally
/// and read back (refused when a newer attempt committed), then the checkpoints retention drops, manifest first. The
/// fences are listed before every write.
/// </summary>
internal sealed partial class S3CheckpointCommit(
    S3StoreOptions options,
    IObjectStorage objects,
    RemoteCheckpointState state,
    FenceGuard fence,
    ILogger logger,
    Metrics.TrainerMetrics? metrics)
{
    /// <summary>How often one commit re-reads and re-decides latest.json after a refused or lost conditional write.</summary>
    private const int CommitRounds = 8;

    private readonly ILogger logger = logger;
    private readonly Lock gate = new();

    // What this process's last commit listed, merged into the next one (see Fencing.Retain).
    private LatestPointer? ownLastCommit;

    private string LatestKey => options.Location.Key(CheckpointLayout.LatestFileName);

    public async Task CommitAsync(StagedCheckpoint item, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        foreach (var file in item.Manifest.Files)
        {
            // Before every object: a stale attempt's window to overwrite a newer attempt's objects is one file upload.
            await fence.EnsureNotSupersededAsync(cancellationToken).ConfigureAwait(false);
            await objects.UploadFileAsync(options.Location.Key($"{item.Name}/{file.Name}"), Path.Combine(item.StagingDirectory, file.Name), file, cancellationToken).ConfigureAwait(false);
        }
        // The manifest goes last: a checkpoint exists remotely only once all its files are there and verified.
        await fence.EnsureNotSupersededAsync(cancellationToken).ConfigureAwait(false);
        await objects.PutBytesAsync(options.Location.Key($"{item.Name}/{CheckpointLayout.ManifestFileName}"), item.ManifestBytes, cancellationToken).ConfigureAwait(false);

        var (pointer, current, deleted) = await CommitLatestAsync(item, cancellationToken).ConfigureAwait(false);
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        lock (gate)
        {
            ownLastCommit = pointer;
        }
        var invalid = state.RecordCommit(pointer, item.GlobalStep);
        LogCommitted(options.Location.Uri(item.Name), item.Manifest.Files.Sum(f => f.Size), seconds, Stopwatch.GetElapsedTime(item.QueuedAt).TotalSeconds);
        metrics?.RecordCheckpointUploaded(TimeSpan.FromSeconds(seconds));
        metrics?.RecordCheckpointCommittedRemotely(item.GlobalStep);

        foreach (var dropped in deleted)
        {
            // A newer attempt may have started since the commit: it may be restoring what this would delete.
            await fence.EnsureNotSupersededAsync(cancellationToken).ConfigureAwait(false);
            await DeleteCheckpointAsync(dropped, cancellationToken).ConfigureAwait(false);
        }
        // Unlisted, not deleted: a download that failed verification may have been a bad transfer, so the objects stay
        // for inspection (an upload of the same step later overwrites them); no reader ever looks past latest.json.
        var listed = (current?.Retained ?? []).Append(current?.Checkpoint).OfType<string>().Distinct(StringComparer.Ordinal);
        foreach (var broken in listed.Where(invalid.Contains))
        {
            LogDroppingInvalid(options.Location.Uri(broken));
        }
    }

    /// <summary>
    /// Commits latest.json naming <paramref name="item"/>: read it with its ETag, refuse when a newer attempt committed
    /// it, write it conditionally (If-Match, or If-None-Match: * when absent), read it back. A refused write (412/409)
    /// or a read-back showing someone else's bytes (a store that ignores conditions) reads and decides again.
    /// </summary>
    private async Task<(LatestPointer Pointer, LatestPointer? Previous, List<string> Deleted)> CommitLatestAsync(StagedCheckpoint item, CancellationToken cancellationToken)
    {
        var token = fence.Token;
        for (var round = 1; ; round++)
        {
            await fence.EnsureNotSupersededAsync(cancellationToken).ConfigureAwait(false);
            var (bytes, etag) = await objects.GetWithETagAsync(LatestKey, cancellationToken).ConfigureAwait(false);
            var current = bytes is null ? null : state.TryParseLatest(bytes);
            if (bytes is not null && current is null && round < CommitRounds / 2)
            {
                // Maybe torn (a store that overwrites in place, like s3rver, read mid-write): look again before
                // replacing it with a list that knows nothing of what it held.
                await Task.Delay(TimeSpan.FromMilliseconds(100 * round), cancellationToken).ConfigureAwait(false);
                continue;
            }
            if (Fencing.BeforeWrite(token, current) == CommitVerdict.Superseded)
            {
                throw fence.Supersede(current!.Attempt!.Value, $"{options.Location.Uri(CheckpointLayout.LatestFileName)} was committed by attempt {current.Attempt} ({current.Checkpoint}); refusing to commit {item.Name}");
            }
            IReadOnlyList<string>? ownLastList;
            lock (gate)
            {
                ownLastList = ownLastCommit?.Retained;
            }
            // Retention counts only checkpoints that may verify: ones that failed at restore are dropped, not counted, so
            // they can never push out the checkpoint just committed or the newest valid one.
            var (keepAlways, invalid) = state.ForRetention(item.Name);
            // The best checkpoint the committed manifest names stays however old; latest.json names it only while the
            // store holds it (a best written before an older trainer kept bests may be gone).
            var bestName = item.Manifest.Best is { } b ? CheckpointLayout.DirectoryName(b.GlobalStep) : null;
            var (kept, deleted) = Fencing.Retain(current, item.Name, options.Keep, keepAlways, invalid, token, ownLastList, bestName);
            CheckpointLayout.TryParseDirectoryName(kept[0], out var newestStep);
            var best = bestName is not null && kept.Contains(bestName, StringComparer.Ordinal) ? item.Manifest.Best : null;
            var pointer = new LatestPointer(kept[0], newestStep, kept, token?.Attempt, options.Owner?.Uid, best);
            var written = RemoteCheckpointDocuments.SerializeLatest(pointer);
            CommitVerdict verdict;
            if (!await objects.PutBytesConditionalAsync(LatestKey, written, bytes is null ? null : etag ?? "*", cancellationToken).ConfigureAwait(false))
            {
                verdict = CommitVerdict.Retry;
                LogCommitRaced(item.Name, round, "the store refused the conditional write (changed since read)");
            }
            else
            {
                var readBack = await objects.GetBytesAsync(LatestKey, cancellationToken).ConfigureAwait(false) ?? [];
                var readPointer = readBack.Length == 0 ? null : state.TryParseLatest(readBack);
                verdict = Fencing.AfterWrite(token, written, readBack, readPointer);
                if (verdict == CommitVerdict.Superseded)
                {
                    if (readPointer!.Retained.Contains(item.Name, StringComparer.Ordinal))
                    {
                        // The newer attempt read this commit and still lists it: it is durable (the newer one may have
                        // resumed from it), and the report says so.
                        state.RecordCommitted(item.GlobalStep);
                    }
                    throw fence.Supersede(readPointer!.Attempt!.Value, $"{options.Location.Uri(CheckpointLayout.LatestFileName)} was overwritten by attempt {readPointer.Attempt} ({readPointer.Checkpoint}) right after this attempt committed {item.Name}");
                }
                if (verdict == CommitVerdict.Retry)
                {
                    LogCommitRaced(item.Name, round, "another writer's latest.json replaced it (a store that ignores conditional writes)");
                }
            }
            if (verdict == CommitVerdict.Proceed)
            {
                return (pointer, current, deleted);
            }
            if (round >= CommitRounds)
            {
                throw new IOException($"latest.json kept changing under the commit of {item.Name} ({round} rounds); retrying the commit.");
            }
        }
    }

    private async Task DeleteCheckpointAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            var manifestKey = options.Location.Key($"{name}/{CheckpointLayout.ManifestFileName}");
            var bytes = await objects.GetBytesAsync(manifestKey, cancellationToken).ConfigureAwait(false);
            // Manifest first: from that moment the checkpoint no longer exists for any reader.
            await objects.DeleteAsync(manifestKey, cancellationToken).ConfigureAwait(false);
            if (bytes is not null)
            {
                foreach (var file in CheckpointManifest.ParseVerified(bytes).Files)
                {
                    await objects.DeleteAsync(options.Location.Key($"{name}/{file.Name}"), cancellationToken).ConfigureAwait(false);
                }
            }
            LogDeleted(options.Location.Uri(name));
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogDeleteFailed(options.Location.Uri(name), e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Committed {Checkpoint} ({Bytes} bytes) in {UploadSeconds:0.000} s, {QueuedSeconds:0.000} s after it was queued")]
    private partial void LogCommitted(string checkpoint, long bytes, double uploadSeconds, double queuedSeconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropped {Checkpoint} from latest.json: it did not verify at restore, so retention does not count it; its objects are left for inspection")]
    private partial void LogDroppingInvalid(string checkpoint);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted {Checkpoint} (retention)")]
    private partial void LogDeleted(string checkpoint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not delete {Checkpoint} (retention): {Reason}; it is no longer listed in latest.json")]
    private partial void LogDeleteFailed(string checkpoint, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Commit of {Checkpoint} raced another writer (round {Round}: {Reason}); reading latest.json again")]
    private partial void LogCommitRaced(string checkpoint, int round, string reason);
}
