using System.Diagnostics;
using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;
using Microsoft.Extensions.Logging;

namespace K8sTraining.Training.Storage;

/// <summary>
/// The commit path's queue: stage each handed-over checkpoint (hard links, so local retention cannot pull it away),
/// commit the newest queued one (after the best it names, when that is queued too) in the background (<see cref="S3CheckpointCommit"/>), retry with back-off (a newer
/// checkpoint replaces a failing one), stop for good once superseded, and report progress to a flush.
/// </summary>
internal sealed partial class S3UploadQueue
{
    private const string StagingFolderName = ".remote-staging";

    private readonly S3StoreOptions options;
    private readonly RemoteCheckpointState state;
    private readonly FenceGuard fence;
    private readonly RemoteRetry retry;
    private readonly S3CheckpointCommit commit;
    private readonly ILogger logger;
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

    public S3UploadQueue(S3StoreOptions options, RemoteCheckpointState state, FenceGuard fence, RemoteRetry retry, S3CheckpointCommit commit, ILogger logger)
    {
        this.options = options;
        this.state = state;
        this.fence = fence;
        this.retry = retry;
        this.commit = commit;
        this.logger = logger;
    }

    private string Location => options.Location.ToString();

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

    public void Enqueue(string localCheckpointDirectory) => Stage(localCheckpointDirectory, position: null);

    /// <summary>
    /// Queues a complete step directory that holds no manifest (any trainer's files): the manifest that goes up last is
    /// described here from the files, at the position given.
    /// </summary>
    public void EnqueueDirectory(string localCheckpointDirectory, int epoch, int stepInEpoch) => Stage(localCheckpointDirectory, (epoch, stepInEpoch));

    private void Stage(string localCheckpointDirectory, (int Epoch, int StepInEpoch)? position)
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
            var named = CheckpointLayout.TryParseDirectoryName(name, out var step);
            if (position is not null && !named)
            {
                throw new InvalidDataException($"{source} is not a checkpoint directory {CheckpointLayout.DirectoryPrefix}<{CheckpointLayout.StepDigits} digits>.");
            }
            var manifest = position is { } p
                ? CheckpointManifest.Describe(source, step, p.Epoch, p.StepInEpoch)
                : null;
            var manifestBytes = manifest is null
                ? File.ReadAllBytes(Path.Combine(source, CheckpointLayout.ManifestFileName))
                : System.Text.Encoding.UTF8.GetBytes(manifest.ToJson());
            manifest ??= CheckpointManifest.ParseVerified(manifestBytes);
            if (!named || step != manifest.GlobalStep)
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
                        await commit.CommitAsync(current, cancellationToken).ConfigureAwait(false);
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

    // The newest queued checkpoint replaces older queued ones, except the best it names (its manifest's Best): that one
    // is committed first, so latest.json never names a best the store does not hold.
    private StagedCheckpoint? TakeNewest()
    {
        lock (gate)
        {
            if (queue.Count == 0)
            {
                return null;
            }
            var newest = queue.MaxBy(q => q.GlobalStep)!;
            var best = queue.FirstOrDefault(q => !ReferenceEquals(q, newest) && IsBestOf(q, newest));
            foreach (var older in queue.Where(q => !ReferenceEquals(q, newest) && !ReferenceEquals(q, best)))
            {
                LogSuperseded(older.Name, newest.Name);
                DeleteStaging(older);
            }
            queue.Clear();
            var next = best ?? newest;
            if (best is not null)
            {
                queue.Add(newest);
            }
            inFlight = next;
            SignalChangedLocked();
            return next;
        }
    }

    private static bool IsBestOf(StagedCheckpoint candidate, StagedCheckpoint newer) => newer.Manifest.Best?.GlobalStep == candidate.GlobalStep;

    private StagedCheckpoint? TakeNewerThan(StagedCheckpoint current)
    {
        lock (gate)
        {
            // A failing best is retried, not replaced: the newer checkpoints name it.
            if (!queue.Any(q => q.GlobalStep > current.GlobalStep) || queue.Any(q => IsBestOf(current, q)))
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Flush gave up after {Seconds:0.#} s with {Backlog} checkpoint(s) not committed to {Location}")]
    private partial void LogFlushTimedOut(double seconds, int backlog, string location);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not delete staging folder {Path}: {Reason}")]
    private partial void LogStagingNotDeleted(string path, string reason);
}
