using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;

namespace K8sTraining.Operator.Metrics;

/// <summary>Registration of the operator's metrics and their Prometheus endpoint.</summary>
public static class OperatorMetricsServiceCollectionExtensions
{
    /// <summary>Registers <see cref="OperatorMetrics"/> and the OpenTelemetry Prometheus exporter for its meter.</summary>
    public static IServiceCollection AddOperatorMetrics(this IServiceCollection services)
    {
        services.AddSingleton<OperatorMetrics>();
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(OperatorMetrics.MeterName)
            .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));
        return services;
    }

    /// <summary>Serves the Prometheus text format at /metrics.</summary>
    public static WebApplication MapOperatorMetrics(this WebApplication app)
    {
        // The meter provider starts with the first scrape otherwise: resolve it now so nothing is missed before.
        _ = app.Services.GetRequiredService<MeterProvider>();
        app.MapPrometheusScrapingEndpoint("/metrics");
        return app;
    }
}
