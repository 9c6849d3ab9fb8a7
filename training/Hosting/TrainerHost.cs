using K8sTraining.Training.Metrics;
using K8sTraining.Training.Options;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace K8sTraining.Training.Hosting;

/// <summary>Builds the generic host that runs one training run.</summary>
public static class TrainerHost
{
    public static IHost Build(TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], DisableDefaults = true });
        var bar = options.Progress == "bar" || (options.Progress == "auto" && !Console.IsOutputRedirected);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.UseUtcTimestamp = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.ColorBehavior = LoggerColorBehavior.Disabled;
        });
        builder.Logging.SetMinimumLevel(bar ? LogLevel.Warning : LogLevel.Information);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Services.AddTrainer(options);
        return builder.Build();
    }

    public static IServiceCollection AddTrainer(this IServiceCollection services, TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        services.AddSingleton(options);
        services.AddSingleton<TrainerExitHolder>();
        services.AddTrainerMetrics(options.MetricsPort, options.JobNamespace, options.JobName);
        services.AddHostedService<TrainingWorker>();
        services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        // The worker bounds its own shutdown work (--shutdown-timeout-seconds); the host must not abandon it first.
        services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(options.ShutdownTimeoutSeconds + 60));
        return services;
    }
}
