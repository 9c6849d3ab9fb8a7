using System.Diagnostics;
using K8sTraining.CheckpointSync.Options;
using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;
using K8sTraining.Training.Metrics;
using K8sTraining.Training.Storage;
using Microsoft.Extensions.Logging;

namespace K8sTraining.CheckpointSync.Sync;

/// <summary>
/// The sidecar's three phases over the training library's S3 store: restore (then the ready file), watch (hand every
/// new complete step directory to the store, which commits in the background), flush (on SIGTERM, within the budget).
/// </summary>
public sealed partial class CheckpointSyncRunner(CheckpointSyncOptions options, S3CheckpointStore store, TrainerMetrics metrics, ILogger<CheckpointSyncRunner> logger) : IDisposable
{
    private readonly ILogger logger = logger;
    private readonly SemaphoreSlim wake = new(0);
    private readonly Dictionary<long, CheckpointPosition> positions = [];
    private long handledStep = -1;

    /// <summary>The checkpoint restored at start, or null when there was none to restore.</summary>
    public CheckpointPosition? RestoredFrom { get; private set; }

    private string Root => options.CheckpointDirectory;

    /// <summary>
    /// Checks the store (owner, fences), downloads the newest committed checkpoint when it is newer than any local one
    /// (a restarted sidecar finds the trainer's own), then creates the ready file the startup probe waits for.
    /// </summary>
    public async Task RestoreAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Root);
        await store.ValidateAsync(cancellationToken).ConfigureAwait(false);
        var localNewest = StepDirectories.NewestAfter(Names(), -1)?.Step ?? -1;
        var restored = await store.RestoreNewestAsync(Root, localNewest, cancellationToken).ConfigureAwait(false);
        if (restored is { } step)
        {
            var position = PositionOfRestored(step);
            RestoredFrom = position;
            positions[step] = position;
            metrics.RecordCheckpointCommittedLocally(step, position.Epoch, position.StepInEpoch, remoteStore: true);
            metrics.RecordCheckpointCommittedRemotely(step);
            LogRestored(store.Location, CheckpointLayout.DirectoryName(step), position.Epoch, position.StepInEpoch);
        }
        metrics.RecordResumePoint(RestoredFrom?.GlobalStep ?? 0, RestoredFrom?.Epoch ?? 0, RestoredFrom?.StepInEpoch ?? 0);
        handledStep = store.NewestCommittedGlobalStep ?? -1;

        var ready = Path.Combine(Root, CheckpointSyncContract.ReadyFileName);
        await File.WriteAllTextAsync(ready, "", cancellationToken).ConfigureAwait(false);
        LogReady(ready);
    }

    /// <summary>Hands each new complete step directory to the store until <paramref name="stop"/> (SIGTERM) is signalled.</summary>
    public async Task WatchAsync(CancellationToken stop)
    {
        using var watcher = StartWatcher();
        while (!stop.IsCancellationRequested)
        {
            HandOverNewest();
            try
            {
                await wake.WaitAsync(options.PollInterval, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
        }
    }

    /// <summary>Hands over what the trainer left last, then waits for the store to commit it within the shutdown budget.</summary>
    public async Task<SyncReport> FlushAsync()
    {
        var started = Stopwatch.GetTimestamp();
        HandOverNewest();
        var remaining = options.ShutdownTimeout - Stopwatch.GetElapsedTime(started);
        var result = await store.FlushAsync(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, CancellationToken.None).ConfigureAwait(false);
        var committed = result.NewestCommittedGlobalStep is { } step ? PositionOf(step) : null;
        var report = SyncReport.AfterFlush(result, committed, handledStep, RestoredFrom, RestoredFrom is null ? null : Uri(RestoredFrom.GlobalStep), store.Superseded);
        LogFlushed(report.Message.Message ?? "", Stopwatch.GetElapsedTime(started).TotalSeconds);
        return report;
    }

    public void Dispose() => wake.Dispose();

    private void HandOverNewest()
    {
        if (StepDirectories.NewestAfter(Names(), handledStep) is not { } next)
        {
            return;
        }
        var directory = Path.Combine(Root, next.Name);
        var position = CheckpointPosition.Read(directory, next.Step);
        positions[next.Step] = position;
        handledStep = next.Step;
        metrics.RecordCheckpointCommittedLocally(next.Step, position.Epoch, position.StepInEpoch, remoteStore: true);
        if (File.Exists(Path.Combine(directory, CheckpointLayout.ManifestFileName)))
        {
            // Written by a trainer of ours (or restored): its own manifest goes up as it is.
            store.Enqueue(directory);
        }
        else
        {
            store.EnqueueDirectory(directory, position.Epoch, position.StepInEpoch);
        }
        LogHandedOver(next.Name, position.Epoch, position.StepInEpoch);
    }

    private CheckpointPosition PositionOfRestored(long step)
    {
        var directory = Path.Combine(Root, CheckpointLayout.DirectoryName(step));
        try
        {
            // The manifest the sidecar (or a trainer) committed holds the position; it is always there after a restore.
            var manifest = CheckpointManifest.ParseVerified(File.ReadAllBytes(Path.Combine(directory, CheckpointLayout.ManifestFileName)));
            return new CheckpointPosition(step, manifest.Epoch, manifest.StepInEpoch);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or System.Text.Json.JsonException)
        {
            return CheckpointPosition.Read(directory, step);
        }
    }

    private CheckpointPosition PositionOf(long step) =>
        positions.TryGetValue(step, out var known) ? known : CheckpointPosition.Read(Path.Combine(Root, CheckpointLayout.DirectoryName(step)), step);

    private string Uri(long step) => $"{store.Location.TrimEnd('/')}/{CheckpointLayout.DirectoryName(step)}";

    private IEnumerable<string> Names()
    {
        try
        {
            return Directory.EnumerateDirectories(Root).Select(Path.GetFileName).OfType<string>().ToList();
        }
        catch (DirectoryNotFoundException)
        {
            return [];
        }
    }

    // The watcher only wakes the loop early; the listing every poll interval is what counts (a watcher can overflow,
    // and some volumes send no events).
    private FileSystemWatcher? StartWatcher()
    {
        try
        {
            var watcher = new FileSystemWatcher(Root) { NotifyFilter = NotifyFilters.DirectoryName, IncludeSubdirectories = false };
            watcher.Renamed += (_, _) => Wake();
            watcher.Created += (_, _) => Wake();
            watcher.EnableRaisingEvents = true;
            return watcher;
        }
        catch (Exception e) when (e is IOException or ArgumentException or PlatformNotSupportedException)
        {
            LogNoWatcher(Root, e.Message);
            return null;
        }
    }

    private void Wake()
    {
        try
        {
            wake.Release();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Restored {Checkpoint} from {Location} (epoch {Epoch}, step in epoch {StepInEpoch})")]
    private partial void LogRestored(string location, string checkpoint, int epoch, int stepInEpoch);

    [LoggerMessage(Level = LogLevel.Information, Message = "Ready: {ReadyFile}; the trainer may start")]
    private partial void LogReady(string readyFile);

    [LoggerMessage(Level = LogLevel.Information, Message = "Handing {Checkpoint} (epoch {Epoch}, step in epoch {StepInEpoch}) to the store")]
    private partial void LogHandedOver(string checkpoint, int epoch, int stepInEpoch);

    [LoggerMessage(Level = LogLevel.Information, Message = "Flushed in {Seconds:0.000} s: {Summary}")]
    private partial void LogFlushed(string summary, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No file-system events for {Directory} ({Reason}); listing it every poll interval only")]
    private partial void LogNoWatcher(string directory, string reason);
}
