using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace K8sTraining.Trainer.Metrics;

/// <summary>Registration of the trainer's metrics endpoint.</summary>
public static class TrainerMetricsServiceCollectionExtensions
{
    /// <summary>
    /// Serves /metrics on <paramref name="port"/> when it is set and not 0. Call before registering the training worker,
    /// so the endpoint starts first and stops last.
    /// </summary>
    public static IServiceCollection AddTrainerMetrics(this IServiceCollection services, int? port)
    {
        if (port is > 0 and var p)
        {
            services.AddHostedService(sp => new TrainerMetricsServer(p, sp.GetRequiredService<ILogger<TrainerMetricsServer>>()));
        }

        return services;
    }
}
