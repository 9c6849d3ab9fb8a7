using System.Diagnostics;
using System.Security.Cryptography;
using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;
using K8sTraining.Training.Options;
using Microsoft.Extensions.Logging;

namespace K8sTraining.Training.Storage;

/// <summary>
/// Keeps what a person looks at (the plots, the text and CSV logs, the LR finder's output; <see cref="ArtifactLayout"/>)
/// in the remote store under <c>{prefix}/artifacts/</c>, so they are there after any preemption, and puts them back into
/// an empty checkpoint directory (a replacement pod's) at start, so the logs continue where they were.
/// </summary>
/// <remarks>
/// <see cref="Enqueue"/> copies the artifacts on the caller's thread (a few small files, complete at an epoch end) and
/// returns; a background worker uploads the newest copy, only the files that changed since the last upload, retrying
/// with back-off until it succeeds or a newer copy replaces it. The upload is fenced like the checkpoints': before each
/// copy goes up it lists the fences, and once a newer attempt of the job has one, nothing more is uploaded. Each object
/// carries the attempt in its metadata. Artifacts are never part of a checkpoint: the commit protocol does not see them.
/// </remarks>
public sealed partial class ArtifactSync : IAsyncDisposable
{
    private const string StagingFolderName = ".artifact-staging";

    private readonly S3StoreOptions options;
    private readonly IObjectStorage objects;
    private readonly FenceGuard fence;
    private readonly RemoteRetry retry;
    private readonly ILogger logger;
    private readonly string staging;
    private readonly Lock gate = new();
    private readonly Dictionary<string, string> uploaded = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim wake = new(0);
    private readonly CancellationTokenSource disposing = new();
    private Snapshot? pending;
    private Snapshot? inFlight;
    private TaskCompletionSource changed = NewSignal();
    private Task? worker;
    private int sequence;
    private bool disabled;
    private bool restoreDone;
    private long endingTimestamp;

    /// <summary>Over <paramref name="objects"/> (the S3 client, or a test double), for the checkpoint directory <paramref name="localRoot"/>.</summary>
    internal ArtifactSync(S3StoreOptions options, IObjectStorage objects, string localRoot, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(objects);
        ArgumentNullException.ThrowIfNull(localRoot);
        this.options = options;
        this.objects = objects;
        this.logger = logger;
        LocalRoot = Path.GetFullPath(localRoot);
        fence = new FenceGuard(options, objects, logger);
        retry = new RemoteRetry(options, logger);
        staging = Path.Combine(LocalRoot, StagingFolderName, $"{Environment.ProcessId}-{Guid.NewGuid():N}"[..20]);
    }

    /// <summary>The sync for this run: null without both --checkpoint-dir and --checkpoint-uri (nothing to sync, or nowhere to).</summary>
    public static ArtifactSync? Create(TrainerOptions options, ILoggerFactory loggerFactory, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        if (options.CheckpointUri is null || options.CheckpointDirectory is null)
        {
            return null;
        }
        var owner = options.JobUid is { Length: > 0 } uid ? new CheckpointOwnerClaim(uid, options.JobNamespace, options.JobName, options.CheckpointAdopt) : null;
        var s3 = S3StoreOptions.FromEnvironment(options.CheckpointUri, options.KeepCheckpoints, environment ?? Environment.GetEnvironmentVariable) with { Owner = owner };
        return new ArtifactSync(s3, new S3ObjectClient(s3), options.CheckpointDirectory, loggerFactory.CreateLogger<ArtifactSync>());
    }

    /// <summary>The checkpoint directory whose artifacts are synced.</summary>
    public string LocalRoot { get; }

    /// <summary>Where they are kept: <c>s3://bucket/prefix/artifacts</c>.</summary>
    public string RemoteLocation => options.Location.Uri(ArtifactLayout.RemoteFolderName);

    /// <summary>Copies waiting for upload or going up now (0 or 1 or 2).</summary>
    public int Backlog
    {
        get
        {
            lock (gate)
            {
                return (pending is null ? 0 : 1) + (inFlight is null ? 0 : 1);
            }
        }
    }

    /// <summary>
    /// Downloads every remote artifact whose local copy is missing (a replacement pod's empty directory); a local file is
    /// never replaced (it is at least as new as the remote one, which was uploaded from it). Retried while the store does
    /// not answer, up to the start-up timeout; when it still fails, this attempt uploads nothing (so logs that could not
    /// be restored are not overwritten with shorter ones) and trains on. Returns the relative paths restored.
    /// </summary>
    public async Task<IReadOnlyList<string>> RestoreMissingAsync(CancellationToken cancellationToken)
    {
        lock (gate)
        {
            restoreDone = true;
        }
        try
        {
            var restored = await retry.AtStartupAsync("restoring the plots and logs", RestoreOnceAsync, cancellationToken).ConfigureAwait(false);
            if (restored.Count > 0)
            {
                LogRestored(restored.Count, RemoteLocation, LocalRoot, string.Join(", ", restored));
            }
            return restored;
        }
        catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
        {
            lock (gate)
            {
                disabled = true;
            }
            LogRestoreFailed(RemoteLocation, e.Message);
            return [];
        }
    }

    /// <summary>
    /// Copies the artifacts as they are now and queues the copy for upload (replacing a queued older one); returns at
    /// once. Call it after the epoch's plots and log lines are written. Does nothing before
    /// <see cref="RestoreMissingAsync"/> (an attempt that fails before it starts training uploads nothing).
    /// </summary>
    public void Enqueue()
    {
        lock (gate)
        {
            // Nothing goes up before the remote copies were looked at: a log started afresh must not replace them.
            if (!restoreDone || disabled || disposing.IsCancellationRequested || fence.Superseded is not null)
            {
                return;
            }
        }
        Snapshot snapshot;
        var folder = Path.Combine(staging, Interlocked.Increment(ref sequence).ToString(System.Globalization.CultureInfo.InvariantCulture));
        try
        {
            var files = new List<(string Relative, string Path)>();
            foreach (var relative in LocalArtifacts(LocalRoot))
            {
                var copy = Path.Combine(folder, relative);
                Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
                File.Copy(Path.Combine(LocalRoot, relative), copy, overwrite: true);
                files.Add((relative, copy));
            }
            snapshot = new Snapshot(folder, files);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Training goes on; the next epoch end tries again.
            LogNotCopied(LocalRoot, e.Message);
            DeleteFolder(folder);
            return;
        }
        lock (gate)
        {
            if (pending is not null)
            {
                DeleteFolder(pending.Folder);
            }
            pending = snapshot;
            worker ??= Task.Run(() => RunWorkerAsync(disposing.Token));
            SignalChangedLocked();
        }
        wake.Release();
    }

    /// <summary>
    /// Marks the moment the attempt began to end (a stop signal, or the run's end), once: the final flush's budget counts
    /// from there, so it shares the shutdown budget with the checkpoint flush instead of adding to it.
    /// </summary>
    public void MarkEnding() => Interlocked.CompareExchange(ref endingTimestamp, Stopwatch.GetTimestamp(), 0);

    /// <summary>
    /// Waits until the queued copy is uploaded, at most <paramref name="budget"/> after <see cref="MarkEnding"/> (or
    /// after now, when unmarked). Returns true when everything queued went up (false: timed out, or a newer attempt
    /// took over).
    /// </summary>
    public async Task<bool> FlushAsync(TimeSpan budget, CancellationToken cancellationToken)
    {
        MarkEnding();
        var deadline = Interlocked.Read(ref endingTimestamp) + (long)(budget.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            Task signal;
            lock (gate)
            {
                if (fence.Superseded is not null)
                {
                    return false;
                }
                if (pending is null && inFlight is null)
                {
                    return true;
                }
                signal = changed.Task;
            }
            var remaining = TimeSpan.FromSeconds((double)(deadline - Stopwatch.GetTimestamp()) / Stopwatch.Frequency);
            if (remaining <= TimeSpan.Zero)
            {
                LogFlushTimedOut(budget.TotalSeconds, RemoteLocation);
                return false;
            }
            await Task.WhenAny(signal, Task.Delay(remaining, cancellationToken)).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>Stops the worker (an upload in flight is abandoned) and removes this process's copies.</summary>
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
        DeleteFolder(staging);
        objects.Dispose();
        disposing.Dispose();
        wake.Dispose();
    }

    /// <summary>
    /// The artifacts present under <paramref name="root"/>, relative to it with '/' separators: the synced files, and the
    /// files of the synced folders (not those whose name starts with a dot: temporaries of an atomic write).
    /// </summary>
    public static IReadOnlyList<string> LocalArtifacts(string root)
    {
        ArgumentNullException.ThrowIfNull(root);
        var found = ArtifactLayout.SyncedFiles.Where(f => File.Exists(Path.Combine(root, f))).ToList();
        foreach (var folder in ArtifactLayout.SyncedFolders)
        {
            var path = Path.Combine(root, folder);
            if (Directory.Exists(path))
            {
                found.AddRange(Directory.EnumerateFiles(path)
                    .Select(Path.GetFileName)
                    .OfType<string>()
                    .Where(n => !n.StartsWith('.'))
                    .Order(StringComparer.Ordinal)
                    .Select(n => $"{folder}/{n}"));
            }
        }
        found.AddRange(K8sTraining.Training.Stages.StageArtifacts.LocalFiles(root));
        return found;
    }

    /// <summary>
    /// True when <paramref name="relative"/> (from a remote key) names an artifact this trainer writes: a synced file, or
    /// a file directly in a synced folder, without path tricks. Anything else in the remote folder is left alone.
    /// </summary>
    public static bool IsArtifact(string relative)
    {
        ArgumentNullException.ThrowIfNull(relative);
        if (ArtifactLayout.SyncedFiles.Contains(relative, StringComparer.Ordinal) || K8sTraining.Training.Stages.StageArtifacts.IsArtifact(relative))
        {
            return true;
        }
        var parts = relative.Split('/');
        return parts.Length == 2 && ArtifactLayout.SyncedFolders.Contains(parts[0], StringComparer.Ordinal)
            && parts[1].Length > 0 && !parts[1].StartsWith('.') && parts[1].IndexOfAny(['\\', ':']) < 0 && parts[1] != "..";
    }

    private async Task<IReadOnlyList<string>> RestoreOnceAsync(CancellationToken cancellationToken)
    {
        var folder = options.Location.Key(ArtifactLayout.RemoteFolderName + "/");
        var keys = await objects.ListKeysAsync(folder, cancellationToken).ConfigureAwait(false);
        var restored = new List<string>();
        foreach (var key in keys.Order(StringComparer.Ordinal))
        {
            var relative = key[folder.Length..];
            var local = Path.Combine(LocalRoot, relative);
            if (!IsArtifact(relative) || File.Exists(local))
            {
                continue;
            }
            var bytes = await objects.GetBytesAsync(key, cancellationToken).ConfigureAwait(false);
            if (bytes is null)
            {
                continue;
            }
            Directory.CreateDirectory(Path.GetDirectoryName(local)!);
            var temp = Path.Combine(Path.GetDirectoryName(local)!, $".{Path.GetFileName(local)}.restore-{Environment.ProcessId}");
            await File.WriteAllBytesAsync(temp, bytes, cancellationToken).ConfigureAwait(false);
            File.Move(temp, local, overwrite: false);
            lock (gate)
            {
                // Known to be there already: not uploaded again unless it changes.
                uploaded[relative] = Convert.ToHexStringLower(SHA256.HashData(bytes));
            }
            restored.Add(relative);
        }
        return restored;
    }

    private async Task RunWorkerAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            await wake.WaitAsync(cancellationToken).ConfigureAwait(false);
            while (Take() is { } snapshot)
            {
                var current = snapshot;
                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        await UploadAsync(current, cancellationToken).ConfigureAwait(false);
                        break;
                    }
                    catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                    {
                        return;
                    }
                    catch (SupersededException)
                    {
                        // Logged once by the fence; a newer attempt owns the prefix and its artifacts.
                        Finish(current, stale: true);
                        return;
                    }
                    catch (Exception e) when (e is not OutOfMemoryException)
                    {
                        var delay = retry.Backoff(attempt);
                        LogUploadFailed(RemoteLocation, attempt, e.Message, delay.TotalSeconds);
                        await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                        if (TakeNewer(current) is { } newer)
                        {
                            current = newer;
                            attempt = 0;
                        }
                    }
                }
                Finish(current, stale: false);
            }
        }
    }

    private async Task UploadAsync(Snapshot snapshot, CancellationToken cancellationToken)
    {
        var changedFiles = new List<(string Relative, string Path, CheckpointFileEntry Entry)>();
        foreach (var (relative, path) in snapshot.Files)
        {
            var bytes = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
            var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
            lock (gate)
            {
                if (uploaded.TryGetValue(relative, out var previous) && previous == sha)
                {
                    continue;
                }
            }
            changedFiles.Add((relative, path, new CheckpointFileEntry(relative, bytes.LongLength, sha)));
        }
        if (changedFiles.Count == 0)
        {
            return;
        }
        await fence.EnsureNotSupersededAsync(cancellationToken).ConfigureAwait(false);
        foreach (var (relative, path, entry) in changedFiles)
        {
            await objects.UploadFileAsync(options.Location.Key(ArtifactLayout.RemoteName(relative)), path, entry, cancellationToken).ConfigureAwait(false);
            lock (gate)
            {
                uploaded[relative] = entry.Sha256;
            }
        }
        LogUploaded(changedFiles.Count, RemoteLocation);
    }

    private Snapshot? Take()
    {
        lock (gate)
        {
            inFlight = pending;
            pending = null;
            SignalChangedLocked();
            return inFlight;
        }
    }

    private Snapshot? TakeNewer(Snapshot current)
    {
        lock (gate)
        {
            if (pending is null)
            {
                return null;
            }
            DeleteFolder(current.Folder);
            inFlight = pending;
            pending = null;
            SignalChangedLocked();
            return inFlight;
        }
    }

    private void Finish(Snapshot snapshot, bool stale)
    {
        lock (gate)
        {
            DeleteFolder(snapshot.Folder);
            inFlight = null;
            if (stale && pending is not null)
            {
                DeleteFolder(pending.Folder);
                pending = null;
            }
            SignalChangedLocked();
        }
    }

    private void DeleteFolder(string folder)
    {
        try
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
        catch (IOException e)
        {
            LogStagingNotDeleted(folder, e.Message);
        }
    }

    private void SignalChangedLocked()
    {
        changed.TrySetResult();
        changed = NewSignal();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>One copy of the artifacts: its staging folder and the files in it, by relative path.</summary>
    private sealed record Snapshot(string Folder, IReadOnlyList<(string Relative, string Path)> Files);

    [LoggerMessage(Level = LogLevel.Information, Message = "Restored {Count} artifact(s) from {Location} into {Directory}: {Names}")]
    private partial void LogRestored(int count, string location, string directory, string names);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not restore the plots and logs from {Location}: {Reason}; this attempt keeps them locally only (so the remote ones are not overwritten)")]
    private partial void LogRestoreFailed(string location, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Uploaded {Count} artifact(s) to {Location}")]
    private partial void LogUploaded(int count, string location);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Upload of the plots and logs to {Location} failed (attempt {Attempt}): {Reason}; retrying in {DelaySeconds:0.0} s")]
    private partial void LogUploadFailed(string location, int attempt, string reason, double delaySeconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not copy the plots and logs of {Directory} for upload: {Reason}; the next epoch end tries again")]
    private partial void LogNotCopied(string directory, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The plots and logs were not all uploaded to {Location} within {Seconds:0.#} s")]
    private partial void LogFlushTimedOut(double seconds, string location);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not delete staging folder {Path}: {Reason}")]
    private partial void LogStagingNotDeleted(string path, string reason);
}
