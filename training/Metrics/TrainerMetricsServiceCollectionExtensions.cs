using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace K8sTraining.Training.Metrics;

/// <summary>Registration of the trainer's metrics endpoint.</summary>
public static class TrainerMetricsServiceCollectionExtensions
{
    /// <summary>
    /// Registers the run's <see cref="TrainerMetrics"/>, labelled with the job's namespace and name, and serves /metrics
    /// on <paramref name="port"/> when it is set and not 0. Call before registering the training worker, so the endpoint
    /// starts first and stops last.
    /// </summary>
    public static IServiceCollection AddTrainerMetrics(this IServiceCollection services, int? port, string? jobNamespace, string? jobName)
    {
        services.AddMetrics();
        services.AddSingleton(sp => new TrainerMetrics(sp.GetRequiredService<IMeterFactory>(), jobNamespace, jobName));
        if (port is > 0 and var p)
        {
            services.AddHostedService(sp => new TrainerMetricsServer(p, sp.GetRequiredService<TrainerMetrics>(), sp.GetRequiredService<ILogger<TrainerMetricsServer>>()));
        }

        return services;
    }
}
