using System.Net;
using System.Runtime.InteropServices;
using K8sTraining.NodeAgent.Containers;
using K8sTraining.NodeAgent.Images;
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
    private PodWorkerContext? _context;
    private CancellationToken _stopping;

    /// <summary>Runs until the token is cancelled; then kills every pod process it started and returns.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var ownsClient = options.Client is null;
        var client = options.Client ?? new Kubernetes(options.ClientConfiguration
            ?? LoadKubeconfig(options.KubeconfigPath
                ?? throw new InvalidOperationException("NodeAgentOptions needs Client, ClientConfiguration or KubeconfigPath")));
        try
        {
            var root = Path.GetFullPath(options.ResolvedRootDirectory);
            Directory.CreateDirectory(root);
            var images = ImageTable.Load(options.ResolvedImageTablePath, Path.GetFullPath(options.RepositoryRoot));
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

            // The Node object is for kubectl's eyes only: pods do not wait for it.
            var registration = options.RegisterNode ? RegisterNodeAsync(client, node, cancellationToken) : Task.CompletedTask;
            await new PodWatcher(client, options.NodeName, options.WatchTimeout, logger, options.TimeProvider)
                .RunAsync(this, cancellationToken).ConfigureAwait(false);
            await registration.ConfigureAwait(false);
        }
        finally
        {
            Task[] running;
            lock (_gate)
            {
                running = _workers.Values.Select(w => w.Task).ToArray();
            }

            await Task.WhenAll(running).ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).ConfigureAwait(false);
            if (ownsClient)
            {
                client.Dispose();
            }
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

            if (_finished.Contains(uid) || _context is null || _stopping.IsCancellationRequested)
            {
                return;
            }

            var worker = new PodWorker(pod, _context);
            var task = Task.Run(() => worker.RunAsync(_stopping), CancellationToken.None);
            _workers[uid] = (worker, task);
            task.ContinueWith(t => Finish(uid, t.IsFaulted), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
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

    private void Finish(string uid, bool faulted)
    {
        lock (_gate)
        {
            _workers.Remove(uid);
            if (!faulted)
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

    /// <summary>Creates the Node object and reports it Ready, when the API server serves nodes; best effort.</summary>
    private async Task RegisterNodeAsync(IKubernetes client, NodeContext node, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        try
        {
            V1Node current;
            try
            {
                current = await client.CoreV1.ReadNodeAsync(options.NodeName, cancellationToken: timeout.Token).ConfigureAwait(false);
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
            {
                current = await client.CoreV1.CreateNodeAsync(new V1Node
                {
                    Metadata = new V1ObjectMeta
                    {
                        Name = options.NodeName,
                        Labels = new Dictionary<string, string>
                        {
                            ["kubernetes.io/hostname"] = options.NodeName,
                            ["kubernetes.io/os"] = "linux",
                            ["kubernetes.io/arch"] = RuntimeInformation.OSArchitecture == Architecture.Arm64 ? "arm64" : "amd64",
                        },
                    },
                }, cancellationToken: timeout.Token).ConfigureAwait(false);
            }

            var now = options.TimeProvider.GetUtcNow().UtcDateTime;
            var resources = new Dictionary<string, ResourceQuantity>
            {
                ["cpu"] = new(node.Cpus.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                ["memory"] = new($"{node.MemoryBytes / 1024}Ki"),
                ["pods"] = new("110"),
            };
            current.Status = new V1NodeStatus
            {
                Capacity = resources,
                Allocatable = resources,
                Addresses = [new V1NodeAddress { Address = options.HostIP, Type = "InternalIP" }, new V1NodeAddress { Address = options.NodeName, Type = "Hostname" }],
                Conditions =
                [
                    new V1NodeCondition
                    {
                        Type = "Ready",
                        Status = "True",
                        Reason = "KubeletReady",
                        Message = "local node agent is posting ready status",
                        LastHeartbeatTime = now,
                        LastTransitionTime = now,
                    },
                ],
                NodeInfo = new V1NodeSystemInfo
                {
                    Architecture = RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant(),
                    OperatingSystem = "linux",
                    OsImage = RuntimeInformation.OSDescription,
                    KernelVersion = Environment.OSVersion.Version.ToString(),
                    KubeletVersion = "v1.32.0-k8straining-local",
                    KubeProxyVersion = string.Empty,
                    ContainerRuntimeVersion = "local-process://1",
                    BootID = string.Empty,
                    MachineID = string.Empty,
                    SystemUUID = string.Empty,
                },
            };
            await client.CoreV1.ReplaceNodeStatusAsync(current, options.NodeName, cancellationToken: timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException or OperationCanceledException or IOException)
        {
            Log.NodeRegistrationFailed(logger, e, options.NodeName);
        }
    }
}
