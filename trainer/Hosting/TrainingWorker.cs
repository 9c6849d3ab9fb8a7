using K8sTraining.Trainer.Checkpoints;
using K8sTraining.Trainer.Metrics;
using K8sTraining.Trainer.Options;
using K8sTraining.Trainer.Progress;
using K8sTraining.Trainer.Storage;
using K8sTraining.Trainer.Training;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace K8sTraining.Trainer.Hosting;

/// <summary>
/// Runs the training loop under the generic host, whose console lifetime turns SIGTERM/SIGINT into the stopping token
/// (a second signal only asks again), then records the outcome, writes the termination log and stops the host.
/// </summary>
public sealed partial class TrainingWorker(
    TrainerOptions options,
    TrainingOutcomeHolder holder,
    IHostApplicationLifetime lifetime,
    ILoggerFactory loggerFactory,
    ILogger<TrainingWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var outcome = await Task.Run(() => RunAsync(stoppingToken), CancellationToken.None).ConfigureAwait(false);
        holder.Outcome = outcome;
        TerminationLog.Write(TerminationLog.ResolvePath(options.TerminationLog), outcome.Report);
        lifetime.StopApplication();
    }

    private async Task<TrainingOutcome> RunAsync(CancellationToken stoppingToken)
    {
        try
        {
            await using var remote = RemoteCheckpointSync.Create(options, loggerFactory);
            var bar = options.Progress == "bar" || (options.Progress == "auto" && !Console.IsOutputRedirected);
            if (bar)
            {
                return await ProgressBarObserver.RunAsync(view => RunLoopAsync(remote, view, stoppingToken)).ConfigureAwait(false);
            }
            return await RunLoopAsync(remote, new LogObserver(options.LogEverySteps, loggerFactory.CreateLogger<LogObserver>()), stoppingToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ConfigurationMismatchException or RemoteStoreConfigurationException or OptionsException)
        {
            LogInvalid(logger, e.Message);
            return new TrainingOutcome(ExitCodes.Invalid, new TerminationReport(TerminationReport.Invalid, 0, 0, 0, null, true, null, e.Message));
        }
        catch (Exception e)
        {
            LogFailed(logger, e);
            return new TrainingOutcome(ExitCodes.Failed, new TerminationReport(TerminationReport.Failed, 0, 0, 0, null, false, null, $"{e.GetType().Name}: {e.Message}"));
        }
    }

    private async Task<TrainingOutcome> RunLoopAsync(RemoteCheckpointSync remote, ITrainingObserver view, CancellationToken stoppingToken)
    {
        var observers = new List<ITrainingObserver> { view, new MetricsObserver() };
        using var csv = options.ResolvedLogCsv is { } path && options.CheckpointDirectory is not null | options.LogCsv is not null ? new CsvObserver(path, options.LogEverySteps) : null;
        if (csv is not null)
        {
            observers.Add(csv);
        }
        var loop = new TrainingLoop(options, remote, new CompositeObserver(observers), loggerFactory.CreateLogger<TrainingLoop>());
        return await loop.RunAsync(stoppingToken).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Invalid configuration: {Message}")]
    private static partial void LogInvalid(ILogger logger, string message);

    [LoggerMessage(Level = LogLevel.Error, Message = "Training failed")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}

/// <summary>Carries the outcome from the worker to Program's exit code.</summary>
public sealed class TrainingOutcomeHolder
{
    public TrainingOutcome? Outcome { get; set; }
}
