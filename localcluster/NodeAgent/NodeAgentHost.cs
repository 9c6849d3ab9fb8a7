using System.Net;
using System.Runtime.InteropServices;
using K8sTraining.NodeAgent.Containers;
using K8sTraining.NodeAgent.Images;
using K8sTraining.NodeAgent.Lifecycle;
using K8sTraining.NodeAgent.Network;
using K8sTraining.NodeAgent.Pods;
using K8sTraining.NodeAgent.Watch;
using k8s;
using k8s.Autorest;
using k8s.Exceptions;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace K8sTraining.NodeAgent;

/// <summary>
/// The local node agent: a kubelet double that runs the pods bound to one node as local processes.
/// </summary>
/// <remarks>
/// For the host (API server helper): construct with options and a logger and run it in-process until shutdown:
/// <code>
/// var agent = new NodeAgentHost(new NodeAgentOptions { KubeconfigPath = kubeconfig, RepositoryRoot = repo }, logger);
/// var running = agent.RunAsync(stopping);   // returns after stopping is cancelled and every pod process is killed
/// </code>
/// or, in a generic host, <c>services.AddLocalNodeAgent(options)</c>. A kubeconfig whose user has no credentials is
/// used anonymously (KubernetesClient alone refuses `user: {}`).
/// It talks to the API server only through KubernetesClient, like a kubelet: watch pods with
/// fieldSelector spec.nodeName=NodeName, write pods/status, delete a pod (grace 0, uid precondition) once its
/// containers have stopped. Images map to programs through localcluster/images.yaml (see its header).
/// </remarks>
public sealed class NodeAgentHost(NodeAgentOptions options, ILogger<NodeAgentHost> logger) : IPodSink
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, (PodWorker Worker, Task Task)> _workers = new(StringComparer.Ordinal);
    private readonly HashSet<string> _finished = new(StringComparer.Ordinal);
    private readonly FreezeGate _link = new();
    private readonly SemaphoreSlim _beatNow = new(0);
    private PodWorkerContext? _context;
    private CancellationToken _stopping;

    // A freeze cancels the pod watch (the agent hears nothing more) and, with kill, the pod workers (their processes
    // die); unfreezing starts both again.
    private CancellationTokenSource _watchStop = new();
    private CancellationTokenSource _workersStop = new();
    private TaskCompletionSource _unfrozen = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string? _freeze;

    /// <summary>The freeze in force: null, <see cref="NodeFreeze.Kill"/> or <see cref="NodeFreeze.Keep"/>.</summary>
    public string? Freeze
    {
        get
        {
            lock (_gate)
            {
                return _freeze;
            }
        }
    }

    /// <summary>Runs until the token is cancelled; then kills every pod process it started and returns.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var ownsClient = options.Client is null;
        var configuration = options.ClientConfiguration
            ?? (options.Client is null
                ? LoadKubeconfig(options.KubeconfigPath ?? throw new InvalidOperationException("NodeAgentOptions needs Client, ClientConfiguration or KubeconfigPath"))
                : null);

        // Everything the agent says to the API server goes through the freeze gate; the watch of its own Node (how a
        // test freezes and unfreezes it) does not. A supplied client cannot be gated: a freeze then only stops the
        // watches, the heartbeat and (kill) the processes.
        var client = options.Client ?? new Kubernetes(configuration!, _link);
        var control = options.Client ?? new Kubernetes(configuration!);
        _watchStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _workersStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        HostAddressClaims? claims = null;
        try
        {
            var root = Path.GetFullPath(options.ResolvedRootDirectory);
            Directory.CreateDirectory(root);
            var images = ImageTable.Load(options.ResolvedImageTablePath, Path.GetFullPath(options.RepositoryRoot));
            claims = new HostAddressClaims(options.PodAddressClaimsDirectory ?? HostAddressClaims.DefaultDirectory);
            var network = new PodNetwork(new PodAddressPool(options.ResolvedPodAddressRange, claims), PodNetworkLibrary.Find(options.PodNetworkLibrary));
            var server = client is Kubernetes kubernetes ? kubernetes.BaseUri : new Uri("http://127.0.0.1/");
            var node = new NodeContext(
                options.HostIP,
                options.HostIP,
                Environment.ProcessorCount,
                GC.GetGCMemoryInfo().TotalAvailableMemoryBytes,
                ServiceEnvironment(server));
            _context = new PodWorkerContext(
                new KubeApi(client),
                new EventRecorder(client, options.NodeName, options.TimeProvider, logger),
                images,
                node,
                network,
                root,
                options.TimeProvider,
                logger,
                options.MinimumGracePeriod,
                options.RestartBackoffInitial,
                options.RestartBackoffMax,
                options.ConfigRetryInterval,
                options.ShutdownGracePeriod);
            _stopping = cancellationToken;
            Log.AgentStarted(logger, options.NodeName, server.ToString(), root);

            // The Node object is for kubectl's and the control plane's eyes: pods do not wait for it.
            var heartbeat = options.RegisterNode
                ? new NodeHeartbeat(client, options, node, () => Freeze is not null, logger).RunAsync(_beatNow, cancellationToken)
                : Task.CompletedTask;
            var freezeWatch = options.RegisterNode
                ? new FreezeWatcher(control, options.NodeName, options.WatchTimeout, logger, options.TimeProvider).RunAsync(OnFreeze, cancellationToken)
                : Task.CompletedTask;
            // Cluster DNS for the pods: the headless Services' endpoints, into every pod's hosts file.
            var dns = new EndpointSliceWatcher(client, network, options.WatchTimeout, logger, options.TimeProvider).RunAsync(cancellationToken);
            while (!cancellationToken.IsCancellationRequested)
            {
                CancellationToken watchStop;
                lock (_gate)
                {
                    watchStop = _watchStop.Token;
                }

                await new PodWatcher(client, options.NodeName, options.WatchTimeout, logger, options.TimeProvider)
                    .RunAsync(this, watchStop).ConfigureAwait(false);
                Task unfrozen;
                lock (_gate)
                {
                    unfrozen = _unfrozen.Task;
                }

                await unfrozen.WaitAsync(cancellationToken).ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).ConfigureAwait(false);
            }

            await Task.WhenAll(heartbeat, freezeWatch, dns).ConfigureAwait(false);
        }
        finally
        {
            Task[] running;
            lock (_gate)
            {
                running = _workers.Values.Select(w => w.Task).ToArray();
            }

            await Task.WhenAll(running).ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).ConfigureAwait(false);
            // The pods' processes have stopped: their addresses are free for the next agent (in this process or another).
            claims?.Dispose();
            if (ownsClient)
            {
                client.Dispose();
                control.Dispose();
            }

            _link.Open();
        }
    }

    /// <summary>The freeze annotation as last seen on the Node: kill, keep, or null (none: unfrozen).</summary>
    private void OnFreeze(string? value)
    {
        var mode = value switch
        {
            NodeFreeze.Kill or NodeFreeze.Keep => value,
            null => null,
            _ => Freeze, // an unknown value changes nothing
        };
        lock (_gate)
        {
            if (mode == _freeze || _stopping.IsCancellationRequested)
            {
                return;
            }

            if (mode is not null)
            {
                if (_freeze is null)
                {
                    Log.Frozen(logger, options.NodeName, mode);
                    _link.Close();
                    _unfrozen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    _watchStop.Cancel();
                }

                if (mode == NodeFreeze.Kill)
                {
                    // The VM vanished: its processes die with it, and nothing is reported.
                    _workersStop.Cancel();
                }

                // kill, then keep: the processes are dead already, and stay so.
                _freeze = _freeze == NodeFreeze.Kill ? NodeFreeze.Kill : mode;
                return;
            }

            Log.Unfrozen(logger, options.NodeName);
            _freeze = null;
            if (_workersStop.IsCancellationRequested)
            {
                _workersStop.Dispose();
                _workersStop = CancellationTokenSource.CreateLinkedTokenSource(_stopping);
            }

            _watchStop.Dispose();
            _watchStop = CancellationTokenSource.CreateLinkedTokenSource(_stopping);
            _link.Open();
            _unfrozen.TrySetResult();
            _beatNow.Release();
        }
    }

    /// <summary>
    /// Reads a kubeconfig; a user without credentials (`user: {}`, fine for a loopback API server without
    /// authentication, and accepted by kubectl) is taken as anonymous, which KubernetesClient alone refuses.
    /// </summary>
    internal static KubernetesClientConfiguration LoadKubeconfig(string path)
    {
        try
        {
            return KubernetesClientConfiguration.BuildConfigFromConfigFile(path);
        }
        catch (KubeConfigException)
        {
            var config = KubernetesClientConfiguration.LoadKubeConfig(path);
            var context = config.Contexts.FirstOrDefault(c => c.Name == config.CurrentContext) ?? config.Contexts.First();
            var cluster = config.Clusters.First(c => c.Name == context.ContextDetails.Cluster).ClusterEndpoint;
            return new KubernetesClientConfiguration
            {
                Host = cluster.Server,
                SkipTlsVerify = cluster.SkipTlsVerify,
                Namespace = context.ContextDetails.Namespace,
            };
        }
    }

    void IPodSink.Upsert(V1Pod pod)
    {
        lock (_gate)
        {
            var uid = pod.Metadata.Uid;
            if (_workers.TryGetValue(uid, out var existing))
            {
                existing.Worker.Post(pod);
                return;
            }

            if (_finished.Contains(uid) || _context is null || _stopping.IsCancellationRequested || _freeze is not null)
            {
                return;
            }

            var worker = new PodWorker(pod, _context);
            var stop = _workersStop.Token;
            var task = Task.Run(() => worker.RunAsync(stop), CancellationToken.None);
            _workers[uid] = (worker, task);
            task.ContinueWith(t => Finish(uid, t.IsFaulted || stop.IsCancellationRequested), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }
    }

    void IPodSink.Remove(V1Pod pod)
    {
        lock (_gate)
        {
            if (_workers.TryGetValue(pod.Metadata.Uid, out var existing))
            {
                existing.Worker.PostRemoved();
            }
        }
    }

    void IPodSink.Resync(IReadOnlyList<V1Pod> pods)
    {
        var present = pods.Select(p => p.Metadata.Uid).ToHashSet(StringComparer.Ordinal);
        lock (_gate)
        {
            foreach (var (uid, existing) in _workers)
            {
                if (!present.Contains(uid))
                {
                    existing.Worker.PostRemoved();
                }
            }
        }

        foreach (var pod in pods)
        {
            ((IPodSink)this).Upsert(pod);
        }
    }

    private void Finish(string uid, bool unfinished)
    {
        lock (_gate)
        {
            _workers.Remove(uid);
            if (!unfinished)
            {
                _finished.Add(uid);
            }

            // A worker that failed has stopped its containers; the pod's next event (or resync) starts a new worker for
            // it, as the kubelet retries a pod sync, so that a deleted pod is still finalized instead of staying
            // Terminating until it is force-deleted.
        }
    }

    /// <summary>The variables every container gets for the API server, as for the `kubernetes` service.</summary>
    private static Dictionary<string, string> ServiceEnvironment(Uri server)
    {
        var host = server.Host;
        var port = server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["KUBERNETES_SERVICE_HOST"] = host,
            ["KUBERNETES_SERVICE_PORT"] = port,
            ["KUBERNETES_PORT"] = $"tcp://{host}:{port}",
            [$"KUBERNETES_PORT_{port}_TCP"] = $"tcp://{host}:{port}",
            [$"KUBERNETES_PORT_{port}_TCP_PROTO"] = "tcp",
            [$"KUBERNETES_PORT_{port}_TCP_PORT"] = port,
            [$"KUBERNETES_PORT_{port}_TCP_ADDR"] = host,
        };
    }
}
