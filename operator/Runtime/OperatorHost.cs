using K8sTraining.Operator.Metrics;
using k8s;
using k8s.Autorest;
using k8s.LeaderElection;
using k8s.LeaderElection.ResourceLock;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace K8sTraining.Operator.Runtime;

/// <summary>
/// Runs the controller, behind leader election on a coordination.k8s.io/v1 Lease when asked: only the leader
/// reconciles. Losing the lease stops the process (as controller-runtime does) so a fresh start re-elects cleanly.
/// A graceful stop releases the lease (client-go's ReleaseOnCancel), so a standby replica takes over at once instead
/// of waiting out the lease duration.
/// </summary>
public sealed partial class OperatorHost(
    IKubernetes client,
    OperatorOptions options,
    OperatorState state,
    OperatorMetrics metrics,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILoggerFactory loggerFactory) : BackgroundService
{
    private readonly ILogger _logger = loggerFactory.CreateLogger<OperatorHost>();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            if (!options.LeaderElect)
            {
                state.IsLeader = true;
                await RunControllerAsync(stoppingToken).ConfigureAwait(false);
                return;
            }

            await RunWithLeaderElectionAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            Log.Crashed(_logger, e);
            Environment.ExitCode = 1;
            lifetime.StopApplication();
        }
    }

    private async Task RunWithLeaderElectionAsync(CancellationToken stoppingToken)
    {
        var leaseLock = new LeaseLock(client, options.LeaderElectionNamespace, options.LeaderElectionLeaseName, options.Identity);
        var config = new LeaderElectionConfig(leaseLock)
        {
            LeaseDuration = options.LeaseDuration,
            RenewDeadline = options.RenewDeadline,
            RetryPeriod = options.RetryPeriod,
        };
        using var elector = new LeaderElector(config);
        using var leading = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        Task? controller = null;
        var led = false;
        elector.OnNewLeader += leader =>
        {
            state.Leader = leader;
            Log.NewLeader(_logger, leader ?? "(none)");
        };
        elector.OnStartedLeading += () =>
        {
            state.IsLeader = true;
            led = true;
            Log.StartedLeading(_logger, options.Identity, options.LeaderElectionNamespace, options.LeaderElectionLeaseName);
            controller = Task.Run(() => RunControllerAsync(leading.Token), CancellationToken.None);
        };
        elector.OnStoppedLeading += () =>
        {
            state.IsLeader = false;
            leading.Cancel();
        };

        Log.Campaigning(_logger, options.Identity, options.LeaderElectionNamespace, options.LeaderElectionLeaseName);
        try
        {
            await elector.RunUntilLeadershipLostAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // A graceful stop: wind the controller down, then release the lease below.
        }

        await leading.CancelAsync().ConfigureAwait(false);
        if (controller is not null)
        {
            await controller.ConfigureAwait(false);
        }

        if (!stoppingToken.IsCancellationRequested)
        {
            Log.LostLease(_logger, options.Identity);
            Environment.ExitCode = 1;
            lifetime.StopApplication();
        }
        else if (led)
        {
            await ReleaseLeaseAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Hands the lease back on a graceful stop, as client-go's ReleaseOnCancel does: holder cleared, duration 1 s,
    /// transitions kept. Only when this replica still holds it; a failure only means the standby waits the lease out.
    /// </summary>
    private async Task ReleaseLeaseAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            var lease = await client.CoordinationV1.ReadNamespacedLeaseAsync(
                options.LeaderElectionLeaseName, options.LeaderElectionNamespace, cancellationToken: timeout.Token).ConfigureAwait(false);
            if (lease.Spec?.HolderIdentity != options.Identity)
            {
                return;
            }

            var now = time.GetUtcNow().UtcDateTime;
            // "", not null: client-go writes "" (a set, empty holder), and an elector that reads null tries to create the Lease.
            lease.Spec.HolderIdentity = "";
            lease.Spec.LeaseDurationSeconds = 1;
            lease.Spec.AcquireTime = now;
            lease.Spec.RenewTime = now;
            await client.CoordinationV1.ReplaceNamespacedLeaseAsync(
                lease, options.LeaderElectionLeaseName, options.LeaderElectionNamespace, cancellationToken: timeout.Token).ConfigureAwait(false);
            Log.ReleasedLease(_logger, options.Identity, options.LeaderElectionNamespace, options.LeaderElectionLeaseName);
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException or OperationCanceledException)
        {
            Log.ReleaseFailed(_logger, options.Identity, e.Message);
        }
    }

    private async Task RunControllerAsync(CancellationToken cancellationToken)
    {
        var api = new KubernetesApi(client, options.Identity);
        using var controller = new TrainingJobController(api, options, time, metrics, loggerFactory);
        state.Controller = controller;
        _ = controller.Synced.ContinueWith(_ => state.CachesSynced = true, TaskScheduler.Default);
        try
        {
            await controller.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            state.CachesSynced = false;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "{Identity} campaigning for lease {Namespace}/{Lease}")]
        public static partial void Campaigning(ILogger logger, string identity, string @namespace, string lease);

        [LoggerMessage(Level = LogLevel.Information, Message = "{Identity} is the leader (lease {Namespace}/{Lease})")]
        public static partial void StartedLeading(ILogger logger, string identity, string @namespace, string lease);

        [LoggerMessage(Level = LogLevel.Information, Message = "The leader is {Leader}")]
        public static partial void NewLeader(ILogger logger, string leader);

        [LoggerMessage(Level = LogLevel.Error, Message = "{Identity} lost its lease; stopping")]
        public static partial void LostLease(ILogger logger, string identity);

        [LoggerMessage(Level = LogLevel.Information, Message = "{Identity} released lease {Namespace}/{Lease}")]
        public static partial void ReleasedLease(ILogger logger, string identity, string @namespace, string lease);

        [LoggerMessage(Level = LogLevel.Warning, Message = "{Identity} could not release its lease ({Reason}); the standby takes over when it expires")]
        public static partial void ReleaseFailed(ILogger logger, string identity, string reason);

        [LoggerMessage(Level = LogLevel.Critical, Message = "The operator stopped on an unexpected error")]
        public static partial void Crashed(ILogger logger, Exception e);
    }
}
