using System.Diagnostics;
using K8sTraining.Contract;
using K8sTraining.Trainer.Checkpoints;
using Microsoft.Extensions.Logging;

namespace K8sTraining.Trainer.Storage;

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
/// </remarks>
public sealed partial class S3CheckpointStore : IRemoteCheckpointStore
{
    private const string StagingFolderName = ".remote-staging";

    private readonly S3StoreOptions options;
    private readonly IObjectStorage objects;
    private readonly ILogger logger;
    private readonly Metrics.TrainerMetrics? metrics;
    private readonly object gate = new();
    private readonly List<StagedCheckpoint> queue = [];
    private readonly SemaphoreSlim wake = new(0);
    private readonly CancellationTokenSource disposing = new();
    private StagedCheckpoint? inFlight;
    private TaskCompletionSource changed = NewSignal();
    private CancellationTokenSource retryWait = new();
    private Task? worker;
    private LatestPointer? latest;
    private string? protectedCheckpoint;
    private long? committedStep;

    // Remote checkpoints that failed verification at restore: never counted by retention, never named by latest.json.
    private readonly HashSet<string> invalidRemote = new(StringComparer.Ordinal);
    private long newestEnqueuedStep = -1;
    private int stagingSequence;

    // The fencing token (null without TRAINER_ATTEMPT: never fenced), and the proof that a newer attempt took over.
    private readonly FenceToken? token;
    private readonly HashSet<int> otherJobsFences = [];
    private SupersededException? superseded;

    // What this process's last commit listed, merged into the next one (see Fencing.Retain).
    private LatestPointer? ownLastCommit;

    /// <summary>How often one commit re-reads and re-decides latest.json after a refused or lost conditional write.</summary>
    private const int CommitRounds = 8;

    public S3CheckpointStore(S3StoreOptions options, ILogger<S3CheckpointStore> logger, Metrics.TrainerMetrics? metrics = null)
        : this(options, new S3ObjectClient(options), logger, metrics)
    {
    }

    /// <summary>Over another object store (a test double that enforces conditional writes).</summary>
    internal S3CheckpointStore(S3StoreOptions options, IObjectStorage objects, ILogger<S3CheckpointStore> logger, Metrics.TrainerMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.options = options;
        this.logger = logger;
        this.objects = objects;
        this.metrics = metrics;
        token = options.Attempt is { } attempt ? new FenceToken(attempt, options.Owner?.Uid) : null;
    }

    public string Location => options.Location.ToString();

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

    /// <summary>
    /// The newest checkpoint known to be committed remotely: uploaded by this process, restored from the store, or the
    /// local one resumed from when latest.json lists it; null when none.
    /// </summary>
    public long? NewestCommittedGlobalStep
    {
        get
        {
            lock (gate)
            {
                return committedStep;
            }
        }
    }

    /// <summary>The proof that a newer attempt took over the prefix; null while this attempt may upload.</summary>
    public SupersededException? Superseded
    {
        get
        {
            lock (gate)
            {
                return superseded;
            }
        }
    }

    public async Task ValidateAsync(CancellationToken cancellationToken)
    {
        var bytes = await WithStartupRetryAsync("checking the bucket", ct => objects.GetBytesAsync(LatestKey, ct), cancellationToken).ConfigureAwait(false);
        LatestPointer? found;
        lock (gate)
        {
            latest = found = bytes is null ? null : TryParseLatest(bytes);
        }
        LogValidated(Location, options.EndpointDisplay, bytes is null ? "none" : latest?.Checkpoint ?? "unreadable latest.json");
        if (token is not null)
        {
            // Reads only: a stale attempt leaves before it writes anything (owner.json, its fence, a checkpoint).
            if (found is not null && Fencing.Supersedes(token, found.Attempt, found.JobUid))
            {
                throw Supersede(found.Attempt!.Value, $"{options.Location.Uri(CheckpointLayout.LatestFileName)} was committed by attempt {found.Attempt} ({found.Checkpoint})");
            }
            await WithStartupRetryAsync("checking the fences", async ct =>
            {
                await EnsureNotSupersededAsync(ct).ConfigureAwait(false);
                return true;
            }, cancellationToken).ConfigureAwait(false);
        }
        if (options.Owner is { } claim)
        {
            await ClaimPrefixAsync(claim, checkpointsExist: bytes is not null, cancellationToken).ConfigureAwait(false);
        }
        if (token is not null)
        {
            // Before the restore reads latest.json and before the first upload: from here no older attempt of this job
            // uploads, commits or deletes (each checks the fences first), so what the restore reads stays put.
            var fence = new AttemptFence(token.Attempt, token.JobUid, options.Pod, DateTimeOffset.UtcNow);
            await WithStartupRetryAsync("writing this attempt's fence", async ct =>
            {
                await objects.PutBytesAsync(FenceKey(token.Attempt), RemoteCheckpointDocuments.SerializeFence(fence), ct).ConfigureAwait(false);
                return true;
            }, cancellationToken).ConfigureAwait(false);
            LogFenced(token.Attempt, options.Location.Uri($"{CheckpointLayout.FenceFolderName}/{CheckpointLayout.FenceFileName(token.Attempt)}"));
        }
    }

    private string FenceKey(int attempt) => options.Location.Key($"{CheckpointLayout.FenceFolderName}/{CheckpointLayout.FenceFileName(attempt)}");

    /// <summary>Lists the fences and throws <see cref="SupersededException"/> when a newer attempt of this job has one.</summary>
    private async Task EnsureNotSupersededAsync(CancellationToken cancellationToken)
    {
        if (token is null)
        {
            return;
        }
        if (Superseded is { } already)
        {
            throw already;
        }
        var folder = options.Location.Key(CheckpointLayout.FenceFolderName + "/");
        var keys = await objects.ListKeysAsync(folder, cancellationToken).ConfigureAwait(false);
        var attempts = keys.Select(k => CheckpointLayout.TryParseFenceFileName(k[(k.LastIndexOf('/') + 1)..], out var a) ? a : -1).Where(a => a > 0).ToList();
        while (Fencing.NewerFence(token, attempts) is { } newer)
        {
            bool foreign;
            lock (gate)
            {
                foreign = otherJobsFences.Contains(newer);
            }
            if (!foreign)
            {
                var bytes = await objects.GetBytesAsync(FenceKey(newer), cancellationToken).ConfigureAwait(false);
                AttemptFence? fence = null;
                try
                {
                    fence = bytes is null ? null : RemoteCheckpointDocuments.ParseFence(bytes);
                }
                catch (Exception e) when (e is InvalidDataException or System.Text.Json.JsonException)
                {
                    // Unreadable: assume it is this job's. Fencing errs on the side of stopping.
                }
                if (fence is null || Fencing.Supersedes(token, newer, fence.JobUid))
                {
                    var key = options.Location.Uri($"{CheckpointLayout.FenceFolderName}/{CheckpointLayout.FenceFileName(newer)}");
                    throw Supersede(newer, fence is null
                        ? $"{key} exists"
                        : $"{key} says attempt {newer} started at {fence.StartedAt:O}{(fence.Pod is null ? "" : $" in pod {fence.Pod}")}");
                }
                lock (gate)
                {
                    // Another job's fence (a prefix adopted from a deleted job): attempts of different jobs never compare.
                    otherJobsFences.Add(newer);
                }
            }
            attempts.Remove(newer);
        }
    }

    /// <summary>Records (once) and logs (once) that a newer attempt took over; every later call returns the same proof.</summary>
    private SupersededException Supersede(int newer, string evidence)
    {
        lock (gate)
        {
            if (superseded is not null)
            {
                return superseded;
            }
            superseded = new SupersededException(
                $"Attempt {token!.Attempt} is superseded by attempt {newer} at {Location}: {evidence}. Attempt {token.Attempt} stops uploading and exits {TrainerExitCodes.Superseded}; attempt {newer} owns the checkpoints.",
                token.Attempt,
                newer);
        }
        LogSupersededAttempt(superseded.Message);
        return superseded;
    }

    // owner.json records which TrainingJob (by uid) the prefix belongs to, so a new job never silently resumes from (and
    // reports as its own) the checkpoints of a deleted job that used the same URI. Written before the first upload.
    private async Task ClaimPrefixAsync(CheckpointOwnerClaim claim, bool checkpointsExist, CancellationToken cancellationToken)
    {
        var ownerUri = options.Location.Uri(CheckpointLayout.OwnerFileName);
        var bytes = await WithStartupRetryAsync("reading owner.json", ct => objects.GetBytesAsync(OwnerKey, ct), cancellationToken).ConfigureAwait(false);
        CheckpointOwner? current = null;
        if (bytes is not null)
        {
            try
            {
                current = RemoteCheckpointDocuments.ParseOwner(bytes);
            }
            catch (Exception e) when (e is InvalidDataException or System.Text.Json.JsonException)
            {
                LogOwnerUnreadable(ownerUri, e.Message);
            }
        }
        if (current is not null && string.Equals(current.Uid, claim.Uid, StringComparison.Ordinal))
        {
            LogPrefixOwned(Location, current.Uid);
            return;
        }
        if (current is not null || bytes is not null || checkpointsExist)
        {
            var holder = current is not null
                ? $"belongs to {current.Namespace}/{current.Name} (uid {current.Uid}, since {current.CreatedAt:O}) according to {ownerUri}"
                : bytes is not null
                    ? $"has an unreadable {ownerUri}, so its owner is unknown"
                    : $"already holds checkpoints (newest {latest?.Checkpoint ?? "unknown: latest.json is unreadable"}) and no {CheckpointLayout.OwnerFileName} says whose";
            if (!claim.Adopt)
            {
                throw new CheckpointPrefixInUseException(
                    $"The checkpoint prefix {Location} {holder}; this job is {claim.Namespace}/{claim.Name} (uid {claim.Uid}). To start from scratch, use a fresh spec.checkpoint.uri (--checkpoint-uri); to resume from those checkpoints, set spec.checkpoint.adopt: true (--checkpoint-adopt true).");
            }
            LogAdopting(Location, holder, claim.Uid);
        }
        var owner = new CheckpointOwner(claim.Uid, claim.Namespace ?? "", claim.Name ?? "", DateTimeOffset.UtcNow);
        await WithStartupRetryAsync("writing owner.json", async ct =>
        {
            await objects.PutBytesAsync(OwnerKey, RemoteCheckpointDocuments.SerializeOwner(owner), ct).ConfigureAwait(false);
            return true;
        }, cancellationToken).ConfigureAwait(false);
        LogPrefixClaimed(Location, claim.Uid);
    }

    public async Task<long?> RestoreNewestAsync(string localCheckpointRoot, long localNewestGlobalStep, CancellationToken cancellationToken)
    {
        var bytes = await WithStartupRetryAsync("reading latest.json", ct => objects.GetBytesAsync(LatestKey, ct), cancellationToken).ConfigureAwait(false);
        if (bytes is null)
        {
            lock (gate)
            {
                latest = null;
                protectedCheckpoint = localNewestGlobalStep >= 0 ? CheckpointLayout.DirectoryName(localNewestGlobalStep) : null;
            }
            LogNothingToRestore(Location);
            return null;
        }
        LatestPointer pointer;
        try
        {
            pointer = RemoteCheckpointDocuments.ParseLatest(bytes);
        }
        catch (Exception e) when (e is InvalidDataException or System.Text.Json.JsonException)
        {
            throw new RemoteCheckpointDamagedException(
                $"{options.Location.Uri(CheckpointLayout.LatestFileName)} is unreadable ({e.Message}); checkpoints may exist, so the trainer will not start from scratch. Repair or delete latest.json.", e);
        }
        lock (gate)
        {
            latest = pointer;
        }
        if (Fencing.Supersedes(token, pointer.Attempt, pointer.JobUid))
        {
            throw Supersede(pointer.Attempt!.Value, $"{options.Location.Uri(CheckpointLayout.LatestFileName)} was committed by attempt {pointer.Attempt} ({pointer.Checkpoint})");
        }

        var candidates = pointer.Retained.Append(pointer.Checkpoint).Distinct(StringComparer.Ordinal)
            .Select(name => (Name: name, Step: CheckpointLayout.TryParseDirectoryName(name, out var s) ? s : -1))
            .Where(c => c.Step > localNewestGlobalStep)
            .OrderByDescending(c => c.Step)
            .ToList();
        if (candidates.Count == 0)
        {
            ProtectLocalNewest(pointer, localNewestGlobalStep);
            LogLocalIsNewest(localNewestGlobalStep, Location);
            return null;
        }

        Directory.CreateDirectory(localCheckpointRoot);
        foreach (var (name, step) in candidates)
        {
            var stopwatch = Stopwatch.StartNew();
            try
            {
                var bytesRestored = await WithStartupRetryAsync($"restoring {name}", ct => DownloadCheckpointAsync(localCheckpointRoot, name, ct), cancellationToken).ConfigureAwait(false);
                lock (gate)
                {
                    protectedCheckpoint = name;
                    committedStep = step;
                }
                LogRestored(options.Location.Uri(name), bytesRestored, stopwatch.Elapsed.TotalSeconds);
                return step;
            }
            catch (InvalidDataException e)
            {
                LogCheckpointDoesNotVerify(options.Location.Uri(name), e.Message);
                lock (gate)
                {
                    invalidRemote.Add(name);
                }
            }
        }

        if (localNewestGlobalStep >= 0)
        {
            ProtectLocalNewest(pointer, localNewestGlobalStep);
            return null;
        }
        throw new RemoteCheckpointDamagedException(
            $"None of the {candidates.Count} checkpoints listed in {options.Location.Uri(CheckpointLayout.LatestFileName)} verifies ({string.Join(", ", candidates.Select(c => c.Name))}); the trainer will not silently start from scratch. Inspect them, or delete latest.json to start over.");
    }

    // Resuming from the local checkpoint: retention never deletes it remotely, and when latest.json lists it, it is
    // already durable there (a replacement elsewhere would resume from it too).
    private void ProtectLocalNewest(LatestPointer pointer, long localNewestGlobalStep)
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

    public void Enqueue(string localCheckpointDirectory)
    {
        ObjectDisposedException.ThrowIf(disposing.IsCancellationRequested, this);
        var source = Path.GetFullPath(localCheckpointDirectory);
        var name = Path.GetFileName(source.TrimEnd(Path.DirectorySeparatorChar));
        lock (gate)
        {
            if (superseded is not null)
            {
                // A newer attempt owns the prefix: nothing more goes up (the supersession was logged once already).
                newestEnqueuedStep = Math.Max(newestEnqueuedStep, CheckpointLayout.TryParseDirectoryName(name, out var dropped) ? dropped : long.MaxValue);
                SignalChangedLocked();
                return;
            }
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
        objects.Dispose();
        disposing.Dispose();
        wake.Dispose();
        retryWait.Dispose();
    }

    private string LatestKey => options.Location.Key(CheckpointLayout.LatestFileName);

    private string OwnerKey => options.Location.Key(CheckpointLayout.OwnerFileName);

    // All committed means: nothing queued or in flight, and the newest checkpoint ever handed over is committed (one
    // that could not be staged or turned out damaged locally counts as not uploaded).
    private RemoteFlushResult ResultLocked() => new(
        queue.Count == 0 && inFlight is null && (committedStep ?? -1) >= newestEnqueuedStep,
        committedStep is { } s ? options.Location.Uri(CheckpointLayout.DirectoryName(s)) : null,
        committedStep,
        queue.Count + (inFlight is null ? 0 : 1));

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
                        var delay = Backoff(attempt);
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
            await EnsureNotSupersededAsync(cancellationToken).ConfigureAwait(false);
            await objects.UploadFileAsync(options.Location.Key($"{item.Name}/{file.Name}"), Path.Combine(item.StagingDirectory, file.Name), file, cancellationToken).ConfigureAwait(false);
        }
        // The manifest goes last: a checkpoint exists remotely only once all its files are there and verified.
        await EnsureNotSupersededAsync(cancellationToken).ConfigureAwait(false);
        await objects.PutBytesAsync(options.Location.Key($"{item.Name}/{CheckpointLayout.ManifestFileName}"), item.ManifestBytes, cancellationToken).ConfigureAwait(false);

        var (pointer, current, deleted) = await CommitLatestAsync(item, cancellationToken).ConfigureAwait(false);
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        HashSet<string> invalid;
        lock (gate)
        {
            latest = pointer;
            ownLastCommit = pointer;
            committedStep = Math.Max(committedStep ?? -1, item.GlobalStep);
            invalid = [.. invalidRemote];
        }
        LogCommitted(options.Location.Uri(item.Name), item.Manifest.Files.Sum(f => f.Size), seconds, Stopwatch.GetElapsedTime(item.QueuedAt).TotalSeconds);
        metrics?.RecordCheckpointUploaded(TimeSpan.FromSeconds(seconds));
        metrics?.RecordCheckpointCommittedRemotely(item.GlobalStep);

        foreach (var dropped in deleted)
        {
            // A newer attempt may have started since the commit: it may be restoring what this would delete.
            await EnsureNotSupersededAsync(cancellationToken).ConfigureAwait(false);
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
        for (var round = 1; ; round++)
        {
            await EnsureNotSupersededAsync(cancellationToken).ConfigureAwait(false);
            var (bytes, etag) = await objects.GetWithETagAsync(LatestKey, cancellationToken).ConfigureAwait(false);
            var current = bytes is null ? null : TryParseLatest(bytes);
            if (bytes is not null && current is null && round < CommitRounds / 2)
            {
                // Maybe torn (a store that overwrites in place, like s3rver, read mid-write): look again before
                // replacing it with a list that knows nothing of what it held.
                await Task.Delay(TimeSpan.FromMilliseconds(100 * round), cancellationToken).ConfigureAwait(false);
                continue;
            }
            if (Fencing.BeforeWrite(token, current) == CommitVerdict.Superseded)
            {
                throw Supersede(current!.Attempt!.Value, $"{options.Location.Uri(CheckpointLayout.LatestFileName)} was committed by attempt {current.Attempt} ({current.Checkpoint}); refusing to commit {item.Name}");
            }
            string? keepAlways;
            HashSet<string> invalid;
            IReadOnlyList<string>? ownLastList;
            lock (gate)
            {
                keepAlways = protectedCheckpoint;
                ownLastList = ownLastCommit?.Retained;
                // This upload replaced whatever broken checkpoint had its name.
                invalidRemote.Remove(item.Name);
                invalid = [.. invalidRemote];
            }
            // Retention counts only checkpoints that may verify: ones that failed at restore are dropped, not counted, so
            // they can never push out the checkpoint just committed or the newest valid one.
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
                var readPointer = readBack.Length == 0 ? null : TryParseLatest(readBack);
                verdict = Fencing.AfterWrite(token, written, readBack, readPointer);
                if (verdict == CommitVerdict.Superseded)
                {
                    if (readPointer!.Retained.Contains(item.Name, StringComparer.Ordinal))
                    {
                        // The newer attempt read this commit and still lists it: it is durable (the newer one may have
                        // resumed from it), and the report says so.
                        lock (gate)
                        {
                            committedStep = Math.Max(committedStep ?? -1, item.GlobalStep);
                        }
                    }
                    throw Supersede(readPointer!.Attempt!.Value, $"{options.Location.Uri(CheckpointLayout.LatestFileName)} was overwritten by attempt {readPointer.Attempt} ({readPointer.Checkpoint}) right after this attempt committed {item.Name}");
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

    private async Task<long> DownloadCheckpointAsync(string root, string name, CancellationToken cancellationToken)
    {
        var manifestBytes = await objects.GetBytesAsync(options.Location.Key($"{name}/{CheckpointLayout.ManifestFileName}"), cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidDataException("its manifest.json is missing");
        CheckpointManifest manifest;
        try
        {
            manifest = CheckpointManifest.ParseVerified(manifestBytes);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new InvalidDataException($"its manifest.json is not valid JSON ({e.Message})", e);
        }
        if (CheckpointLayout.DirectoryName(manifest.GlobalStep) != name)
        {
            throw new InvalidDataException($"its manifest.json says globalStep {manifest.GlobalStep}");
        }
        var temporary = Path.Combine(root, $".restore-{name}-{Environment.ProcessId}");
        if (Directory.Exists(temporary))
        {
            Directory.Delete(temporary, recursive: true);
        }
        Directory.CreateDirectory(temporary);
        try
        {
            foreach (var file in manifest.Files)
            {
                await objects.DownloadFileAsync(options.Location.Key($"{name}/{file.Name}"), Path.Combine(temporary, file.Name), file, cancellationToken).ConfigureAwait(false);
            }
            // Written last, as the training loop does: a local checkpoint without its manifest does not exist.
            await File.WriteAllBytesAsync(Path.Combine(temporary, CheckpointLayout.ManifestFileName), manifestBytes, cancellationToken).ConfigureAwait(false);
            var target = Path.Combine(root, name);
            if (Directory.Exists(target))
            {
                Directory.Delete(target, recursive: true);
            }
            Directory.Move(temporary, target);
            return manifest.Files.Sum(f => f.Size);
        }
        catch
        {
            if (Directory.Exists(temporary))
            {
                Directory.Delete(temporary, recursive: true);
            }
            throw;
        }
    }

    private async Task<T> WithStartupRetryAsync<T>(string what, Func<CancellationToken, Task<T>> operation, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await operation(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is not RemoteStoreConfigurationException and not SupersededException)
            {
                var kind = RemoteFailure.Classify(e);
                if (RemoteFailure.ToConfigurationError(kind, options, e) is { } configurationError)
                {
                    throw configurationError;
                }
                if (kind is RemoteFailureKind.DamagedData or RemoteFailureKind.LocalDamaged)
                {
                    throw;
                }
                var remaining = options.StartupTimeout - Stopwatch.GetElapsedTime(started);
                if (remaining <= TimeSpan.Zero)
                {
                    throw new RemoteStoreUnavailableException(
                        $"S3 at {options.EndpointDisplay} ({options.Location}) stayed unreachable for {options.StartupTimeout.TotalSeconds:0.#} s while {what} ({attempt} attempts; last error: {e.Message}). Check AWS_ENDPOINT_URL, the network and the storage service; CHECKPOINT_S3_STARTUP_TIMEOUT_SECONDS sets how long to wait.",
                        e);
                }
                var delay = Backoff(attempt);
                delay = delay < remaining ? delay : remaining;
                LogStartupRetry(what, options.EndpointDisplay, attempt, e.Message, delay.TotalSeconds);
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private TimeSpan Backoff(int attempt)
    {
        var factor = Math.Pow(2, Math.Min(attempt - 1, 20));
        var delay = TimeSpan.FromTicks((long)Math.Min(options.RetryInitialDelay.Ticks * factor, options.RetryMaxDelay.Ticks));
        // Up to 20% jitter so many pods behind one endpoint do not retry in step.
        return delay + TimeSpan.FromTicks((long)(delay.Ticks * 0.2 * Random.Shared.NextDouble()));
    }

    private LatestPointer? TryParseLatest(byte[] bytes)
    {
        try
        {
            return RemoteCheckpointDocuments.ParseLatest(bytes);
        }
        catch (Exception e) when (e is InvalidDataException or System.Text.Json.JsonException)
        {
            LogLatestUnreadable(options.Location.Uri(CheckpointLayout.LatestFileName), e.Message);
            return null;
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Remote checkpoints at {Location} ({Endpoint}): newest {Newest}")]
    private partial void LogValidated(string location, string endpoint, string newest);

    [LoggerMessage(Level = LogLevel.Information, Message = "No remote checkpoint at {Location}")]
    private partial void LogNothingToRestore(string location);

    [LoggerMessage(Level = LogLevel.Information, Message = "Local checkpoint step {LocalStep} is as new as anything at {Location}; nothing to download")]
    private partial void LogLocalIsNewest(long localStep, string location);

    [LoggerMessage(Level = LogLevel.Information, Message = "Restored {Checkpoint} ({Bytes} bytes) in {Seconds:0.000} s")]
    private partial void LogRestored(string checkpoint, long bytes, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Checkpoint {Checkpoint} does not verify ({Reason}); using the one before")]
    private partial void LogCheckpointDoesNotVerify(string checkpoint, string reason);

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

    [LoggerMessage(Level = LogLevel.Information, Message = "Checkpoint prefix {Location} belongs to this job (uid {Uid})")]
    private partial void LogPrefixOwned(string location, string uid);

    [LoggerMessage(Level = LogLevel.Information, Message = "Claimed checkpoint prefix {Location} for uid {Uid} (owner.json)")]
    private partial void LogPrefixClaimed(string location, string uid);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Adopting checkpoint prefix {Location}, which {Holder}, for uid {Uid} (--checkpoint-adopt true)")]
    private partial void LogAdopting(string location, string holder, string uid);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Owner} is unreadable: {Reason}")]
    private partial void LogOwnerUnreadable(string owner, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted {Checkpoint} (retention)")]
    private partial void LogDeleted(string checkpoint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not delete {Checkpoint} (retention): {Reason}; it is no longer listed in latest.json")]
    private partial void LogDeleteFailed(string checkpoint, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Flush gave up after {Seconds:0.#} s with {Backlog} checkpoint(s) not committed to {Location}")]
    private partial void LogFlushTimedOut(double seconds, int backlog, string location);

    [LoggerMessage(Level = LogLevel.Warning, Message = "S3 at {Endpoint} did not answer while {What} (attempt {Attempt}: {Reason}); retrying in {DelaySeconds:0.0} s")]
    private partial void LogStartupRetry(string what, string endpoint, int attempt, string reason, double delaySeconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Latest} is unreadable: {Reason}")]
    private partial void LogLatestUnreadable(string latest, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not delete staging folder {Path}: {Reason}")]
    private partial void LogStagingNotDeleted(string path, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Superseded: {Message}")]
    private partial void LogSupersededAttempt(string message);

    [LoggerMessage(Level = LogLevel.Information, Message = "Attempt {Attempt} fenced the checkpoint prefix ({Fence}): older attempts of this job stop uploading")]
    private partial void LogFenced(int attempt, string fence);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Commit of {Checkpoint} raced another writer (round {Round}: {Reason}); reading latest.json again")]
    private partial void LogCommitRaced(string checkpoint, int round, string reason);
}
