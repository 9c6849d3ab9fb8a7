using K8sTraining.Operator.Metrics;
using k8s;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace K8sTraining.Operator.Runtime;

/// <summary>Registration of the operator in one place; Program.cs stays short.</summary>
public static class OperatorServiceCollectionExtensions
{
    public static IServiceCollection AddTrainingJobOperator(this IServiceCollection services, OperatorOptions options)
    {
        var config = options.Kubeconfig is { } path
            ? LoadKubeconfig(path)
            : KubernetesClientConfiguration.IsInCluster()
                ? KubernetesClientConfiguration.InClusterConfig()
                : KubernetesClientConfiguration.BuildDefaultConfig();
        services.AddSingleton(options);
        services.AddSingleton<IKubernetes>(provider => OperatorUserAgent.CreateClient(
            config,
            options.Identity,
            new WatchConnectionClose(),
            new SlowRequestLog((provider.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance).CreateLogger<SlowRequestLog>(), TimeProvider.System)));
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<OperatorState>();
        services.AddSingleton<IRuntimeReadings>(provider => provider.GetRequiredService<OperatorState>());
        services.AddOperatorMetrics();
        services.AddHostedService<OperatorHost>();
        return services;
    }

    /// <summary>
    /// Loads a kubeconfig; a user entry with no credentials at all (anonymous, as kubectl allows and the local cluster
    /// writes) is dropped, because KubernetesClient refuses such a user.
    /// </summary>
    public static KubernetesClientConfiguration LoadKubeconfig(string path)
    {
        var file = KubernetesClientConfiguration.LoadKubeConfig(new FileInfo(path));
        var context = file.Contexts?.FirstOrDefault(c => c.Name == file.CurrentContext);
        var user = file.Users?.FirstOrDefault(u => u.Name == context?.ContextDetails?.User);
        var credentials = user?.UserCredentials;
        if (context?.ContextDetails is { } details && user is not null
            && credentials?.Token is null && credentials?.ClientCertificateData is null && credentials?.ClientCertificate is null
            && credentials?.UserName is null && credentials?.AuthProvider is null && credentials?.ExternalExecution is null)
        {
            details.User = null;
        }

        return KubernetesClientConfiguration.BuildConfigFromConfigObject(file);
    }

    /// <summary>/healthz (the process serves), /readyz (a follower, or a leader whose caches are synced and can list), /leader, /metrics.</summary>
    public static WebApplication MapOperatorEndpoints(this WebApplication app)
    {
        app.MapOperatorMetrics();
        app.MapGet("/healthz", () => Results.Text("ok"));
        app.MapGet("/readyz", (OperatorState state) =>
        {
            var (ready, body) = Readiness.Evaluate(state.IsLeader, state.CachesSynced, state.Controller?.ListProblems ?? []);
            return Results.Text(body, statusCode: ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        });
        app.MapGet("/leader", (OperatorState state, OperatorOptions options) => Results.Json(new
        {
            identity = options.Identity,
            isLeader = state.IsLeader,
            leader = state.Leader,
            cachesSynced = state.CachesSynced,
            watchRestarts = state.Controller?.WatchRestarts,
            relists = state.Controller?.Relists,
            undecodableJobs = state.Controller?.UndecodableJobs,
            listProblems = state.Controller?.ListProblems,
            queueLength = state.Controller?.QueueLength,
            activeWatches = state.Controller?.ActiveWatches,
            // Every System.Threading.Timer alive in the process (delayed requeues, watch deadlines, HTTP pools): it
            // returns to its level once the work is done, or timers leak.
            timers = Timer.ActiveCount,
        }));
        return app;
    }
}
