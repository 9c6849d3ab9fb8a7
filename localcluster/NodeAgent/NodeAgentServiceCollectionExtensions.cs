using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace K8sTraining.NodeAgent;

/// <summary>Registers the local node agent as a hosted service of a generic host.</summary>
public static class NodeAgentServiceCollectionExtensions
{
    public static IServiceCollection AddLocalNodeAgent(this IServiceCollection services, NodeAgentOptions options)
    {
        services.AddSingleton(options);
        services.AddHostedService<NodeAgentService>();
        return services;
    }

    private sealed class NodeAgentService(NodeAgentOptions options, ILogger<NodeAgentHost> logger) : BackgroundService
    {
        protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
            new NodeAgentHost(options, logger).RunAsync(stoppingToken);
    }
}
