using System.Diagnostics.Metrics;
using System.Runtime.InteropServices;
using K8sTraining.CheckpointSync.Options;
using K8sTraining.CheckpointSync.Sync;
using K8sTraining.Contract;
using K8sTraining.Training.Hosting;
using K8sTraining.Training.Metrics;
using K8sTraining.Training.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace K8sTraining.CheckpointSync.Hosting;

/// <summary>
/// The program: read the environment, serve /metrics, restore, watch until SIGTERM, flush, write the termination
/// message, exit 0 (69 when the store stayed unreachable, 2 for a configuration that cannot work).
/// </summary>
public static class CheckpointSyncApp
{
    private const string Usage =
        "checkpoint-sync: the native sidecar that restores, uploads and flushes a trainer's checkpoints (docs/trainer-contract.md).\n"
        + "It takes no arguments; it reads TRAINER_CHECKPOINT_DIR, TRAINER_CHECKPOINT_URI, TRAINER_KEEP_CHECKPOINTS, TRAINER_JOB_*,\n"
        + "TRAINER_ATTEMPT, TRAINER_CHECKPOINT_ADOPT, TRAINER_TERMINATION_LOG, TRAINER_SHUTDOWN_TIMEOUT_SECONDS, TRAINER_METRICS_PORT\n"
        + "and the AWS_* credentials from the environment.";

    public static async Task<int> RunAsync(string[] args, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(environment);
        if (args is ["--help" or "-h"])
        {
            Console.Out.WriteLine(Usage);
            return TrainerExitCodes.Completed;
        }
        var terminationLog = TerminationLog.ResolvePath(environment(TrainerEnvironment.TerminationLog));
        if (args.Length > 0)
        {
            return Fail(terminationLog, SyncReport.Failed(TrainerExitCodes.InvalidConfiguration, TerminationReasons.InvalidConfiguration,
                $"checkpoint-sync takes no arguments (got '{string.Join(' ', args)}'); configure it with the environment.\n{Usage}"));
        }

        using var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
            o.UseUtcTimestamp = true;
        }));
        using var stop = new CancellationTokenSource();
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => Stop(c, stop));
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => Stop(c, stop));

        CheckpointSyncOptions options;
        S3StoreOptions storeOptions;
        try
        {
            options = CheckpointSyncOptions.FromEnvironment(environment);
            storeOptions = S3StoreOptions.FromEnvironment(options.CheckpointUri, options.Keep, environment) with { Owner = options.Owner };
        }
        catch (Exception e) when (e is CheckpointSyncConfigurationException or RemoteStoreConfigurationException)
        {
            return Fail(terminationLog, SyncReport.Failed(TrainerExitCodes.InvalidConfiguration, TerminationReasons.InvalidConfiguration, e.Message));
        }

        await using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new TrainerMetrics(services.GetRequiredService<IMeterFactory>(), options.JobNamespace, options.JobName);
        using var server = options.MetricsPort > 0 ? new TrainerMetricsServer(options.MetricsPort, metrics, loggerFactory.CreateLogger<TrainerMetricsServer>()) : null;
        if (server is not null)
        {
            await server.StartAsync(CancellationToken.None).ConfigureAwait(false);
        }
        var report = await SyncAsync(options, storeOptions, metrics, loggerFactory, stop.Token).ConfigureAwait(false);
        TerminationLog.Write(terminationLog, report.Message);
        if (server is not null)
        {
            await server.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
        return report.ExitCode;
    }

    private static async Task<SyncReport> SyncAsync(CheckpointSyncOptions options, S3StoreOptions storeOptions, TrainerMetrics metrics, ILoggerFactory loggerFactory, CancellationToken stop)
    {
        var logger = loggerFactory.CreateLogger(typeof(CheckpointSyncApp));
        await using var store = new S3CheckpointStore(storeOptions, loggerFactory.CreateLogger<S3CheckpointStore>(), metrics);
        metrics.ObserveUploadBacklog(() => store.Backlog);
        using var runner = new CheckpointSyncRunner(options, store, metrics, loggerFactory.CreateLogger<CheckpointSyncRunner>());
        try
        {
            logger.LogInformation("checkpoint-sync for {Directory} <-> {Location} ({Store})", options.CheckpointDirectory, store.Location, storeOptions);
            await runner.RestoreAsync(stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return SyncReport.Failed(TrainerExitCodes.Completed, null, "stopped (SIGTERM) before the restore finished; nothing was uploaded");
        }
        catch (Exception e)
        {
            logger.LogError("{Message}", e.Message);
            return StartupFailure(e);
        }
        await runner.WatchAsync(stop).ConfigureAwait(false);
        return await runner.FlushAsync().ConfigureAwait(false);
    }

    // The trainer's exit codes and reasons for the same start-up failures (TrainerExit).
    private static SyncReport StartupFailure(Exception e) => e switch
    {
        RemoteStoreConfigurationException => SyncReport.Failed(TrainerExitCodes.InvalidConfiguration, TerminationReasons.InvalidConfiguration, e.Message),
        UnauthorizedAccessException => SyncReport.Failed(TrainerExitCodes.InvalidConfiguration, TerminationReasons.InvalidConfiguration,
            $"{TrainerEnvironment.CheckpointDirectory} cannot be written ({e.Message}): mount the checkpoint volume writable for the sidecar's user."),
        CheckpointPrefixInUseException => SyncReport.Failed(TrainerExitCodes.InvalidConfiguration, TerminationReasons.CheckpointPrefixInUse, e.Message),
        RemoteStoreUnavailableException => SyncReport.Failed(TrainerExitCodes.StorageUnavailable, TerminationReasons.StorageUnavailable, e.Message),
        SupersededException => SyncReport.Failed(TrainerExitCodes.Superseded, TerminationReasons.Superseded, e.Message),
        _ => SyncReport.Failed(TrainerExitCodes.Failed, null, $"{e.GetType().Name}: {e.Message}"),
    };

    private static int Fail(string? terminationLog, SyncReport report)
    {
        Console.Error.WriteLine($"checkpoint-sync: {report.Message.Message}");
        TerminationLog.Write(terminationLog, report.Message);
        return report.ExitCode;
    }

    private static void Stop(PosixSignalContext context, CancellationTokenSource stop)
    {
        // The sidecar exits on its own once the flush is done.
        context.Cancel = true;
        stop.Cancel();
    }
}
