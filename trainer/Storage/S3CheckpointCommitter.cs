using System.Diagnostics;
using K8sTraining.Contract;
using K8sTraining.Trainer.Checkpoints;
using Microsoft.Extensions.Logging;

namespace K8sTraining.Trainer.Storage;

/// <summary>
/// The commit path of the S3 store: stage each handed-over checkpoint, upload the newest queued one in the background
/// (files, then manifest, then a conditional latest.json), retrying with back-off, checking the fences before every
/// write, and delete what retention drops.
/// </summary>
internal sealed partial class S3CheckpointCommitter
{
    private const string StagingFolderName = ".remote-staging";

    /// <summary>How often one commit re-reads and re-decides latest.json after a refused or lost conditional write.</summary>
    private const int CommitRounds = 8;

    private readonly S3StoreOptions options;
    private readonly IObjectStorage objects;
    private readonly RemoteCheckpointState state;
    private readonly FenceGuard fence;
    private readonly RemoteRetry retry;
    private readonly ILogger logger;
    private readonly Metrics.TrainerMetrics? metrics;
    private readonly Lock gate = new();
    private readonly List<StagedCheckpoint> queue = [];
    private readonly SemaphoreSlim wake = new(0);
    private readonly CancellationTokenSource disposing = new();
    private StagedCheckpoint? inFlight;
    private TaskCompletionSource changed = NewSignal();
    private CancellationTokenSource retryWait = new();
    private Task? worker;
    private long newestEnqueuedStep = -1;
    private int stagingSequence;

    // What this process's last commit listed, merged into the next one (see Fencing.Retain).
    private LatestPointer? ownLastCommit;

    public S3CheckpointCommitter(S3StoreOptions options, IObjectStorage objects, RemoteCheckpointState state, FenceGuard fence, RemoteRetry retry, ILogger logger, Metrics.TrainerMetrics? metrics)
    {
        this.options = options;
        this.objects = objects;
        this.state = state;
        this.fence = fence;
        this.retry = retry;
        this.logger = logger;
        this.metrics = metrics;
    }

    private string Location => options.Location.ToString();

    private string LatestKey => options.Location.Key(CheckpointLayout.LatestFileName);

    public int Backlog
    {
        get
        {
            lock (gate)
            {
                return queue.Count + (inFlight is null ? 0 : 1);
            }
        }
    }

    public void Enqueue(string localCheckpointDirectory)
    {
        ObjectDisposedException.ThrowIf(disposing.IsCancellationRequested, typeof(S3CheckpointStore));
        var source = Path.GetFullPath(localCheckpointDirectory);
        var name = Path.GetFileName(source.TrimEnd(Path.DirectorySeparatorChar));
        if (fence.Superseded is not null)
        {
            // A newer attempt owns the prefix: nothing more goes up (the supersession was logged once already).
            lock (gate)
            {
                newestEnqueuedStep = Math.Max(newestEnqueuedStep, CheckpointLayout.TryParseDirectoryName(name, out var dropped) ? dropped : long.MaxValue);
                SignalChangedLocked();
            }
            return;
        }
        string? staging = null;
        StagedCheckpoint item;
        try
        {
            var manifestBytes = File.ReadAllBytes(Path.Combine(source, CheckpointLayout.ManifestFileName));
            var manifest = CheckpointManifest.ParseVerified(manifestBytes);
            if (!CheckpointLayout.TryParseDirectoryName(name, out var step) || step != manifest.GlobalStep)
            {
                throw new InvalidDataException($"{source} is not a checkpoint directory {CheckpointLayout.DirectoryPrefix}<{CheckpointLayout.StepDigits} digits> matching its manifest (globalStep {manifest.GlobalStep}).");
            }

            // Hard links (or copies) in a private folder: local retention may delete the original as soon as this returns.
            staging = Path.Combine(Path.GetDirectoryName(source)!, StagingFolderName, $"{name}-{Environment.ProcessId}-{Interlocked.Increment(ref stagingSequence)}");
            Directory.CreateDirectory(staging);
            foreach (var file in manifest.Files)
            {
                HardLink.LinkOrCopy(Path.Combine(source, file.Name), Path.Combine(staging, file.Name));
            }
            item = new StagedCheckpoint(name, step, staging, manifest, manifestBytes, Stopwatch.GetTimestamp());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or System.Text.Json.JsonException)
        {
            // Training goes on; the flush result says the newest checkpoint is not uploaded.
            LogNotStaged(source, e.Message);
            if (staging is not null && Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
            lock (gate)
            {
                newestEnqueuedStep = Math.Max(newestEnqueuedStep, CheckpointLayout.TryParseDirectoryName(name, out var failed) ? failed : long.MaxValue);
                SignalChangedLocked();
            }
            return;
        }

        int backlog;
        lock (gate)
        {
            queue.Add(item);
            newestEnqueuedStep = Math.Max(newestEnqueuedStep, item.GlobalStep);
            backlog = queue.Count + (inFlight is null ? 0 : 1);
            worker ??= Task.Run(() => RunWorkerAsync(disposing.Token));
            SignalChangedLocked();
        }
        wake.Release();
        LogQueued(name, Location, backlog);
    }

    public async Task<RemoteFlushResult> FlushAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        lock (gate)
        {
            // A flush means the pod is going away: retry a failing upload now instead of after its back-off.
            retryWait.Cancel();
        }
        while (true)
        {
            Task signal;
            lock (gate)
            {
                if (queue.Count == 0 && inFlight is null)
                {
                    return ResultLocked();
                }
                signal = changed.Task;
            }
            var remaining = TimeSpan.FromSeconds((double)(deadline - Stopwatch.GetTimestamp()) / Stopwatch.Frequency);
            if (remaining <= TimeSpan.Zero)
            {
                lock (gate)
                {
                    var result = ResultLocked();
                    LogFlushTimedOut(timeout.TotalSeconds, result.Backlog, Location);
                    return result;
                }
            }
            await Task.WhenAny(signal, Task.Delay(remaining, cancellationToken)).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>Stops the worker and removes every staged copy; the object storage is the store's to dispose.</summary>
    public async ValueTask DisposeAsync()
    {
        if (disposing.IsCancellationRequested)
        {
            return;
        }
        await disposing.CancelAsync().ConfigureAwait(false);
        if (worker is not null)
        {
            try
            {
                await worker.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
        lock (gate)
        {
            foreach (var item in queue)
            {
                DeleteStaging(item);
            }
            if (inFlight is not null)
            {
                DeleteStaging(inFlight);
            }
            queue.Clear();
            inFlight = null;
        }
        disposing.Dispose();
        wake.Dispose();
        retryWait.Dispose();
    }

    // All committed means: nothing queued or in flight, and the newest checkpoint ever handed over is committed (one
    // that could not be staged or turned out damaged locally counts as not uploaded).
    private RemoteFlushResult ResultLocked()
    {
        var committedStep = state.CommittedStep;
        return new(
            queue.Count == 0 && inFlight is null && (committedStep ?? -1) >= newestEnqueuedStep,
            committedStep is { } s ? options.Location.Uri(CheckpointLayout.DirectoryName(s)) : null,
            committedStep,
            queue.Count + (inFlight is null ? 0 : 1));
    }

    private async Task RunWorkerAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            await wake.WaitAsync(cancellationToken).ConfigureAwait(false);
            while (TakeNewest() is { } item)
            {
                var current = item;
                var attempt = 0;
                var stale = false;
                while (true)
                {
                    try
                    {
                        await CommitAsync(current, cancellationToken).ConfigureAwait(false);
                        break;
                    }
                    catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                    {
                        return;
                    }
                    catch (SupersededException)
                    {
                        stale = true;
                        break;
                    }
                    catch (Exception e) when (RemoteFailure.Classify(e) == RemoteFailureKind.LocalDamaged)
                    {
                        LogLocalDamaged(current.Name, e.Message);
                        break;
                    }
                    catch (Exception e)
                    {
                        attempt++;
                        var delay = retry.Backoff(attempt);
                        var kind = RemoteFailure.Classify(e);
                        LogUploadFailed(current.Name, Location, attempt, kind.ToString(), e.Message, delay.TotalSeconds, Backlog);
                        await WaitBeforeRetryAsync(delay, cancellationToken).ConfigureAwait(false);
                        if (TakeNewerThan(current) is { } newer)
                        {
                            LogSuperseded(current.Name, newer.Name);
                            current = newer;
                            attempt = 0;
                        }
                    }
                }
                lock (gate)
                {
                    DeleteStaging(current);
                    inFlight = null;
                    if (stale)
                    {
                        // A newer attempt owns the prefix: drop the rest and stop for good.
                        foreach (var queued in queue)
                        {
                            DeleteStaging(queued);
                        }
                        queue.Clear();
                    }
                    SignalChangedLocked();
                }
                if (stale)
                {
                    return;
                }
            }
        }
    }

    private StagedCheckpoint? TakeNewest()
    {
        lock (gate)
        {
            if (queue.Count == 0)
            {
                return null;
            }
            var newest = queue.MaxBy(q => q.GlobalStep)!;
            foreach (var older in queue.Where(q => !ReferenceEquals(q, newest)))
            {
                LogSuperseded(older.Name, newest.Name);
                DeleteStaging(older);
            }
            queue.Clear();
            inFlight = newest;
            SignalChangedLocked();
            return newest;
        }
    }

    private StagedCheckpoint? TakeNewerThan(StagedCheckpoint current)
    {
        lock (gate)
        {
            if (!queue.Any(q => q.GlobalStep > current.GlobalStep))
            {
                return null;
            }
            DeleteStaging(current);
            inFlight = null;
        }
        return TakeNewest();
    }

    private async Task WaitBeforeRetryAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        CancellationToken retryNow;
        lock (gate)
        {
            if (retryWait.IsCancellationRequested)
            {
                retryWait.Dispose();
                retryWait = new CancellationTokenSource();
            }
            retryNow = retryWait.Token;
        }
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, retryNow);
        try
        {
            await Task.Delay(delay, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task CommitAsync(StagedCheckpoint item, CancellationToken cancellationToken)
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
            var (kept, deleted) = Fencing.Retain(current, item.Name, options.Keep, keepAlways, invalid, token, ownLastList);
            CheckpointLayout.TryParseDirectoryName(kept[0], out var newestStep);
            var pointer = new LatestPointer(kept[0], newestStep, kept, token?.Attempt, options.Owner?.Uid);
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

    private void DeleteStaging(StagedCheckpoint item)
    {
        try
        {
            if (Directory.Exists(item.StagingDirectory))
            {
                Directory.Delete(item.StagingDirectory, recursive: true);
            }
        }
        catch (IOException e)
        {
            LogStagingNotDeleted(item.StagingDirectory, e.Message);
        }
    }

    private void SignalChangedLocked()
    {
        changed.TrySetResult();
        changed = NewSignal();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed record StagedCheckpoint(string Name, long GlobalStep, string StagingDirectory, CheckpointManifest Manifest, byte[] ManifestBytes, long QueuedAt);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not stage {Checkpoint} for upload: {Reason}; it stays local only")]
    private partial void LogNotStaged(string checkpoint, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Queued {Checkpoint} for upload to {Location}; backlog {Backlog}")]
    private partial void LogQueued(string checkpoint, string location, int backlog);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Upload of {Checkpoint} to {Location} failed (attempt {Attempt}, {Kind}): {Reason}; retrying in {DelaySeconds:0.0} s; backlog {Backlog}")]
    private partial void LogUploadFailed(string checkpoint, string location, int attempt, string kind, string reason, double delaySeconds, int backlog);

    [LoggerMessage(Level = LogLevel.Information, Message = "Skipping upload of {Checkpoint}: superseded by {Newer}")]
    private partial void LogSuperseded(string checkpoint, string newer);

    [LoggerMessage(Level = LogLevel.Error, Message = "Not uploading {Checkpoint}: {Reason}")]
    private partial void LogLocalDamaged(string checkpoint, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Committed {Checkpoint} ({Bytes} bytes) in {UploadSeconds:0.000} s, {QueuedSeconds:0.000} s after it was queued")]
    private partial void LogCommitted(string checkpoint, long bytes, double uploadSeconds, double queuedSeconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropped {Checkpoint} from latest.json: it did not verify at restore, so retention does not count it; its objects are left for inspection")]
    private partial void LogDroppingInvalid(string checkpoint);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted {Checkpoint} (retention)")]
    private partial void LogDeleted(string checkpoint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not delete {Checkpoint} (retention): {Reason}; it is no longer listed in latest.json")]
    private partial void LogDeleteFailed(string checkpoint, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Flush gave up after {Seconds:0.#} s with {Backlog} checkpoint(s) not committed to {Location}")]
    private partial void LogFlushTimedOut(double seconds, int backlog, string location);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not delete staging folder {Path}: {Reason}")]
    private partial void LogStagingNotDeleted(string path, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Commit of {Checkpoint} raced another writer (round {Round}: {Reason}); reading latest.json again")]
    private partial void LogCommitRaced(string checkpoint, int round, string reason);
}
