using System.Net;
using System.Text.Json.Nodes;
using K8sTraining.LocalCluster.Admission;
using K8sTraining.LocalCluster.Api;
using K8sTraining.LocalCluster.Api.Faults;
using K8sTraining.LocalCluster.Audit;
using K8sTraining.LocalCluster.Controllers;
using K8sTraining.LocalCluster.Controllers.EndpointSlices;
using K8sTraining.LocalCluster.Controllers.Nodes;
using K8sTraining.LocalCluster.Resources;
using K8sTraining.LocalCluster.Storage;
using K8sTraining.NodeAgent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace K8sTraining.LocalCluster.Hosting;

/// <summary>
/// The local control plane in-process: the API server double on loopback, its garbage collector and namespace
/// controller, and optionally its nodes: node agents with the scheduler and the node lifecycle controllers. Dispose to
/// stop all of it.
/// </summary>
public sealed class LocalControlPlane : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly GarbageCollector _gc;
    private readonly List<IAsyncDisposable> _controllers = [];
    private readonly ILoggerFactory _loggers;
    private readonly string? _tempDirectory;
    private readonly CancellationTokenSource _stopAgent = new();
    private readonly List<Task> _agents = [];

    private LocalControlPlane(WebApplication app, GarbageCollector gc, ILoggerFactory loggers, ResourceOperations ops, AuditLog audit, ApiFaults faults, InFlightRequests inFlight, Uri baseUri, string kubeconfig, string? tempDirectory)
    {
        Faults = faults;
        InFlight = inFlight;
        _app = app;
        _gc = gc;
        _loggers = loggers;
        Operations = ops;
        AuditLog = audit;
        BaseUri = baseUri;
        KubeconfigPath = kubeconfig;
        _tempDirectory = tempDirectory;
    }

    /// <summary>http://127.0.0.1:PORT/</summary>
    public Uri BaseUri { get; }

    public string KubeconfigPath { get; }

    /// <summary>Every request served so far (verb, group, resource, subresource, namespace).</summary>
    public AuditLog AuditLog { get; }

    /// <summary>The fault mode: set rules at run time to delay, drop or cut one client's watches and fail its requests.</summary>
    public ApiFaults Faults { get; }

    /// <summary>The requests being served right now.</summary>
    public InFlightRequests InFlight { get; }

    /// <summary>Direct access to the server's storage and write paths (for tests and tools).</summary>
    public ResourceOperations Operations { get; }

    public static async Task<LocalControlPlane> StartAsync(LocalControlPlaneOptions options, CancellationToken cancellationToken = default)
    {
        var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(options.LogLevel));
        var time = options.TimeProvider;
        var store = new ObjectStore(options.WatchHistorySize);
        var registry = new ResourceRegistry();
        if (options.Nodes is < 1 or > 254)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Nodes, "Nodes must be between 1 and 254 (node i listens on 127.0.0.i)");
        }

        // With in-process nodes the scheduler binds pods; without, pods go to NodeName when created, as before.
        var bindAtCreate = options.StartNodeAgent ? "" : options.NodeName;
        var ops = new ResourceOperations(store, registry, new BuiltinAdmission(bindAtCreate, time, options.EnforcePodAdmission, options.NodeLifecycle.DefaultTolerationSeconds), time);
        var audit = new AuditLog(options.AuditLogPath);
        foreach (var ns in new[] { "default", "kube-system", "kube-public", "kube-node-lease" })
        {
            ops.Create(BuiltinResources.Namespaces, null, new JsonObject { ["metadata"] = new JsonObject { ["name"] = ns } });
        }

        // The two classes every cluster has (the scheduling API's bootstrap), so that priorityClassName can name them.
        foreach (var (name, value, description) in new[]
        {
            ("system-cluster-critical", 2000000000, "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary."),
            ("system-node-critical", 2000001000, "Used for system critical pods that must not be moved from their current node."),
        })
        {
            ops.Create(BuiltinResources.PriorityClasses, null, new JsonObject
            {
                ["metadata"] = new JsonObject { ["name"] = name },
                ["value"] = value,
                ["globalDefault"] = false,
                ["description"] = description,
                ["preemptionPolicy"] = "PreemptLowerPriority",
            });
        }

        var faults = new ApiFaults();
        var inFlight = new InFlightRequests();
        var handler = new ApiRequestHandler(ops, audit, time, new ApiServerSettings(options.BookmarkInterval, options.DefaultWatchTimeout, NodesRoot(options)), faults, inFlight, loggers.CreateLogger<ApiRequestHandler>());
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(options.LogLevel);
        builder.WebHost.UseKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, options.Port);
            k.Limits.MaxRequestBodySize = 16 * 1024 * 1024;
        });
        var app = builder.Build();
        app.Run(handler.HandleAsync);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var port = new Uri(address).Port;
        var baseUri = new Uri($"http://127.0.0.1:{port}/");

        string? temp = null;
        var kubeconfig = options.KubeconfigPath;
        if (kubeconfig is null)
        {
            temp = Directory.CreateTempSubdirectory("k8straining-local-").FullName;
            kubeconfig = Path.Combine(temp, "kubeconfig");
        }

        Kubeconfig.Write(kubeconfig, baseUri);
        var gc = new GarbageCollector(ops, loggers.CreateLogger<GarbageCollector>());
        gc.Start();
        var plane = new LocalControlPlane(app, gc, loggers, ops, audit, faults, inFlight, baseUri, Path.GetFullPath(kubeconfig), temp);
        var endpointSlices = new EndpointSliceController(ops, loggers.CreateLogger<EndpointSliceController>());
        endpointSlices.Start();
        plane._controllers.Add(endpointSlices);
        if (options.StartNodeAgent)
        {
            var scheduler = new Scheduler(ops, loggers.CreateLogger<Scheduler>());
            scheduler.Start();
            plane._controllers.Add(scheduler);
            var lifecycle = new NodeLifecycleController(ops, options.NodeLifecycle, time, loggers.CreateLogger<NodeLifecycleController>());
            lifecycle.Start();
            plane._controllers.Add(lifecycle);
            for (var i = 1; i <= options.Nodes; i++)
            {
                plane.StartNodeAgent(options, i);
            }
        }

        return plane;
    }

    private void StartNodeAgent(LocalControlPlaneOptions options, int i)
    {
        var root = options.RepositoryRoot ?? RepositoryRoot.Find();
        var name = LocalNodes.Name(options.NodeName, i);
        var agentOptions = new NodeAgentOptions
        {
            KubeconfigPath = KubeconfigPath,
            RepositoryRoot = root,
            NodeName = name,
            HostIP = LocalNodes.HostIP(i),
            RootDirectory = Path.Combine(NodesRoot(options)!, name),
            TimeProvider = options.TimeProvider,
            NodeLeaseDuration = options.NodeLeaseDuration,
            NodeLeaseRenewInterval = options.NodeLeaseRenewInterval,
            NodeStatusReportFrequency = options.NodeStatusReportFrequency,
        };
        agentOptions = options.ConfigureNodeAgent?.Invoke(agentOptions) ?? agentOptions;
        var logger = _loggers.CreateLogger<NodeAgentHost>();
        var agent = new NodeAgentHost(agentOptions, logger);
        _agents.Add(Task.Run(async () =>
        {
            try
            {
                await agent.RunAsync(_stopAgent.Token);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogError(e, "the node agent of {Node} stopped", name);
            }
        }));
    }

    /// <summary>The directory of the node agents' directories (pods' logs live under them), or null when none runs here.</summary>
    private static string? NodesRoot(LocalControlPlaneOptions options) =>
        !options.StartNodeAgent ? null
        : Path.Combine(options.StateDirectory ?? Path.Combine(options.RepositoryRoot ?? RepositoryRoot.Find(), ".local"), "nodes");

    public async ValueTask DisposeAsync()
    {
        await _stopAgent.CancelAsync();
        foreach (var agent in _agents)
        {
            try
            {
                await agent;
            }
            catch (OperationCanceledException)
            {
                // stopping
            }
        }

        foreach (var controller in _controllers)
        {
            await controller.DisposeAsync();
        }

        await _gc.DisposeAsync();
        await _app.StopAsync(TimeSpan.FromSeconds(5));
        await _app.DisposeAsync();
        AuditLog.Dispose();
        _loggers.Dispose();
        _stopAgent.Dispose();
        if (_tempDirectory is not null)
        {
            try
            {
                Directory.Delete(_tempDirectory, recursive: true);
            }
            catch (IOException)
            {
                // best effort
            }
        }
    }
}

/// <summary>Finds the repository by walking up to K8sTraining.sln.</summary>
public static class RepositoryRoot
{
    public static string Find()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "K8sTraining.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        return Directory.GetCurrentDirectory();
    }
}
