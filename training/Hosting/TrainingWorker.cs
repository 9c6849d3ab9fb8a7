using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;
using K8sTraining.Training.Distributed;
using K8sTraining.Training.Metrics;
using K8sTraining.Training.Options;
using K8sTraining.Training.Progress;
using K8sTraining.Training.Storage;
using K8sTraining.Training.Loop;
using K8sTraining.Training.Tasks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace K8sTraining.Training.Hosting;

/// <summary>
/// Runs the training loop under the generic host, whose console lifetime turns SIGTERM/SIGINT into the stopping token
/// (a second signal only asks again), then records the outcome, writes the termination log and stops the host.
/// </summary>
public sealed partial class TrainingWorker(
    TrainerOptions options,
    TrainingTask task,
    TrainerExitHolder holder,
    TrainerMetrics metrics,
    IHostApplicationLifetime lifetime,
    ILoggerFactory loggerFactory,
    ILogger<TrainingWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var exit = await Task.Run(() => RunAsync(stoppingToken), CancellationToken.None).ConfigureAwait(false);
        holder.Exit = exit;
        TerminationLog.Write(TerminationLog.ResolvePath(options.TerminationLog), exit.Report);
        lifetime.StopApplication();
    }

    private async Task<TrainerExit> RunAsync(CancellationToken stoppingToken)
    {
        var attempt = new AttemptRecord();
        RemoteCheckpointSync? remote = null;
        DataParallel? dataParallel = null;
        try
        {
            TrainingOutcome outcome;
            try
            {
                remote = RemoteCheckpointSync.Create(options, loggerFactory, metrics);
                metrics.ObserveUploadBacklog(() => remote?.Backlog ?? 0);
                metrics.ObserveBest(() => attempt.DurableBest(remote?.NewestCommitted, remote?.Enabled == true));
                if (options.Distributed is { } distributed)
                {
                    LogJoining(logger, distributed.Rank, distributed.WorldSize, distributed.MasterAddress, distributed.MasterPort, options.DistBackend);
                    dataParallel = DataParallel.Connect(options, stoppingToken);
                }
                outcome = await TrainAsync(remote, attempt, dataParallel, stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                outcome = await OutcomeOfErrorAsync(e, remote).ConfigureAwait(false);
            }
            return TrainerExit.For(outcome, attempt, remote?.NewestCommitted);
        }
        finally
        {
            dataParallel?.Dispose();
            if (remote is not null)
            {
                await remote.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private Task<TrainingOutcome> TrainAsync(RemoteCheckpointSync remote, AttemptRecord attempt, DataParallel? dataParallel, CancellationToken stoppingToken)
    {
        var bar = options.Progress == "bar" || (options.Progress == "auto" && !Console.IsOutputRedirected);
        return bar
            ? ProgressBarObserver.RunAsync(view => RunLoopAsync(remote, attempt, view, dataParallel, stoppingToken))
            : RunLoopAsync(remote, attempt, new LogObserver(options.LogEverySteps, loggerFactory.CreateLogger<LogObserver>()), dataParallel, stoppingToken);
    }

    /// <summary>The outcome an error ends the attempt with, logged once (a failure also flushes what it committed).</summary>
    private async Task<TrainingOutcome> OutcomeOfErrorAsync(Exception error, RemoteCheckpointSync? remote)
    {
        if (InvalidReason(error) is { } reason)
        {
            LogInvalid(logger, error.Message);
            return new TrainingOutcome.Invalid(error.Message, reason);
        }
        switch (error)
        {
            case CollectiveException:
                // A peer vanished without an agreed stop: write nothing (the gang is replaced and resumes from rank 0's
                // last committed checkpoint), say so, and exit 77 at once.
                LogPeerLost(logger, error.Message);
                return new TrainingOutcome.PeerLost($"A data-parallel peer was lost mid-step; this rank wrote nothing and stops: {error.Message}");
            case SupersededException:
                // Logged once by the store where it found the newer attempt; no flush: nothing more goes up.
                return new TrainingOutcome.Superseded(error.Message);
            case RemoteStoreUnavailableException:
                LogStorageUnavailable(logger, error.Message);
                return new TrainingOutcome.StorageUnavailable(error.Message);
            case var _ when DiskFull(error) is { } full:
                // Not a bug to trace: the volume is too small. One line that says what to do; the attempt still fails
                // (exit 1) after sending what it committed.
                LogDiskFull(logger, full.Message, options.CheckpointDirectory ?? ".");
                await FlushAfterFailureAsync(remote).ConfigureAwait(false);
                return new TrainingOutcome.Failed($"{full.GetType().Name}: {full.Message}");
            default:
                LogFailed(logger, error);
                await FlushAfterFailureAsync(remote).ConfigureAwait(false);
                return new TrainingOutcome.Failed($"{error.GetType().Name}: {error.Message}");
        }
    }

    /// <summary>The termination reason of an error the user must fix (exit 2), or null for any other error.</summary>
    public static string? InvalidReason(Exception error) => error switch
    {
        CheckpointPrefixInUseException => TerminationReasons.CheckpointPrefixInUse,
        ConfigurationMismatchException or RemoteStoreConfigurationException or RemoteCheckpointDamagedException or OptionsException or InvalidInputException => TerminationReasons.InvalidConfiguration,
        _ => null,
    };

    /// <summary>The "No space left on device" error inside <paramref name="error"/>, or null.</summary>
    public static IOException? DiskFull(Exception error)
    {
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            // ENOSPC (28) and EDQUOT (122, a quota) are what a full volume says on Linux.
            if (e is IOException io && ((io.HResult & 0xFFFF) is 28 or 122 || io.Message.Contains("No space left on device", StringComparison.Ordinal) || io.Message.Contains("Disk quota exceeded", StringComparison.Ordinal)))
            {
                return io;
            }
        }
        return null;
    }

    // A failed attempt (a full disk, say) still sends the checkpoints it committed before, within the shutdown budget.
    private async Task FlushAfterFailureAsync(RemoteCheckpointSync? remote)
    {
        if (remote is not { Enabled: true, Backlog: > 0 })
        {
            return;
        }
        try
        {
            await remote.FlushAsync(TimeSpan.FromSeconds(options.ShutdownTimeoutSeconds), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogFlushFailed(logger, e.Message);
        }
    }

    private async Task<TrainingOutcome> RunLoopAsync(RemoteCheckpointSync remote, AttemptRecord attempt, ITrainingObserver view, DataParallel? dataParallel, CancellationToken stoppingToken)
    {
        if (options.CheckpointDirectory is { } directory)
        {
            // Before the CSV log is opened there: a checkpoint directory that is a file or read-only is the user's to fix.
            LocalCheckpointStore.EnsureUsable(directory);
        }
        var observers = new List<ITrainingObserver> { view, new MetricsObserver(metrics) };
        using var csv = options.ResolvedLogCsv is { } path && options.CheckpointDirectory is not null | options.LogCsv is not null ? new CsvObserver(path, options.LogEverySteps) : null;
        if (csv is not null)
        {
            observers.Add(csv);
        }
        using var text = options.CheckpointDirectory is { } root ? new TextLogObserver(Path.Combine(root, ArtifactLayout.TextLogFileName)) : null;
        if (text is not null)
        {
            observers.Add(text);
            observers.Add(new PlotsObserver(Path.Combine(options.CheckpointDirectory!, ArtifactLayout.PlotsFolderName), loggerFactory.CreateLogger<PlotsObserver>()));
        }
        // The plots and logs go to <prefix>/artifacts/ with the checkpoints (and come back into an empty directory).
        await using var artifacts = ArtifactSync.Create(options, loggerFactory);
        using var ending = artifacts is null ? default : stoppingToken.Register(artifacts.MarkEnding);
        ITrainingObserver observer = new CompositeObserver(observers);
        if (artifacts is not null)
        {
            observer = new ArtifactSyncObserver(observer, artifacts);
        }
        var loop = new TrainingLoop(options, task, remote, attempt, metrics, observer, loggerFactory.CreateLogger<TrainingLoop>(), dataParallel);
        TrainingOutcome outcome;
        try
        {
            outcome = await loop.RunAsync(stoppingToken).ConfigureAwait(false);
            if (outcome is TrainingOutcome.Completed or TrainingOutcome.Interrupted or TrainingOutcome.DeadlineExceeded)
            {
                // The text log's closing block (or stop line), from what the attempt record says.
                observer.OnEnd(EndOf(outcome, attempt.Report(string.Empty, outcome.Message, null, remote.NewestCommitted)));
            }
        }
        catch (Exception e) when (artifacts is not null && e is not SupersededException and not RemoteStoreUnavailableException and not CollectiveException)
        {
            await FlushArtifactsAsync(artifacts).ConfigureAwait(false);
            throw;
        }
        if (artifacts is not null)
        {
            await FlushArtifactsAsync(artifacts).ConfigureAwait(false);
        }
        return outcome;
    }

    /// <summary>
    /// How the attempt ended, for the observers: the newest checkpoint (its URI once uploaded) and, when it completed,
    /// the final test accuracy. The wall time and the best come from the last epoch the observers saw.
    /// </summary>
    public static TrainingEnd EndOf(TrainingOutcome outcome, TerminationMessage report)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        ArgumentNullException.ThrowIfNull(report);
        var completed = outcome is TrainingOutcome.Completed;
        return new TrainingEnd(completed, report.GlobalStep ?? 0, report.Epoch ?? 0, (int)(report.StepInEpoch ?? 0), report.Checkpoint, completed ? report.TestAccuracy : null, null, null);
    }

    // The last lines (a stop, the closing block) go up too, within the shutdown budget counted from the stop signal.
    private async Task FlushArtifactsAsync(ArtifactSync artifacts)
    {
        artifacts.Enqueue();
        await artifacts.FlushAsync(TimeSpan.FromSeconds(options.ShutdownTimeoutSeconds), CancellationToken.None).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Data parallel: rank {Rank} of {World} joining {Address}:{Port} ({Backend})")]
    private static partial void LogJoining(ILogger logger, int rank, int world, string address, int port, string backend);

    [LoggerMessage(Level = LogLevel.Error, Message = "Peer lost: {Message}")]
    private static partial void LogPeerLost(ILogger logger, string message);

    [LoggerMessage(Level = LogLevel.Error, Message = "Checkpoint storage unavailable: {Message}")]
    private static partial void LogStorageUnavailable(ILogger logger, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not flush checkpoint uploads after the failure: {Message}")]
    private static partial void LogFlushFailed(ILogger logger, string message);

    [LoggerMessage(Level = LogLevel.Error, Message = "Invalid configuration: {Message}")]
    private static partial void LogInvalid(ILogger logger, string message);

    [LoggerMessage(Level = LogLevel.Error, Message = "Disk full: {Message}. The checkpoints committed before are kept; free space on the volume of --checkpoint-dir {Directory} or give it more room (a larger emptyDir sizeLimit or volume), then resume.")]
    private static partial void LogDiskFull(ILogger logger, string message, string directory);

    [LoggerMessage(Level = LogLevel.Error, Message = "Training failed")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}

/// <summary>Carries the exit from the worker to Program's exit code.</summary>
public sealed class TrainerExitHolder
{
    public TrainerExit? Exit { get; set; }
}
