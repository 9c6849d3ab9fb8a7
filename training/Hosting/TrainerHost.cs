using K8sTraining.Training.Metrics;
using K8sTraining.Training.Options;
using K8sTraining.Training.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace K8sTraining.Training.Hosting;

/// <summary>Builds the generic host that runs one training run.</summary>
public static class TrainerHost
{
    /// <summary>The host that trains <paramref name="task"/> (null: the built-in task the flags name).</summary>
    public static IHost Build(TrainerOptions options, TrainingTask? task = null)
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
        builder.Services.AddTrainer(options, task);
        return builder.Build();
    }

    /// <summary>Registers the training worker for <paramref name="task"/> (null: the built-in task the flags name).</summary>
    public static IServiceCollection AddTrainer(this IServiceCollection services, TrainerOptions options, TrainingTask? task = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        // One rank of a data-parallel job: global batch sizes, and the remote store left to rank 0.
        options = K8sTraining.Training.Distributed.RankOptions.For(options);
        services.AddSingleton(options);
        // Built lazily: the built-in catalogs only read the flags here; data loads when the loop asks for it.
        services.AddSingleton(_ => task ?? BuiltInTask.From(options));
        services.AddSingleton<TrainerExitHolder>();
        services.AddTrainerMetrics(options.MetricsPort, options.JobNamespace, options.JobName);
        services.AddHostedService<TrainingWorker>();
        services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        // The worker bounds its own shutdown work (--shutdown-timeout-seconds); the host must not abandon it first.
        services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(options.ShutdownTimeoutSeconds + 60));
        return services;
    }
}
