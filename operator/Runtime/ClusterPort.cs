using System.Net;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Reconciliation;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace K8sTraining.Operator.Runtime;

/// <summary>
/// The reconciler's port on a real cluster: reads from the controller's informers (per watched namespace, or one for
/// all, and the Nodes), writes through <see cref="KubernetesApi"/>, and keeps the expectations of pods just created.
/// </summary>
public sealed partial class ClusterPort(
    KubernetesApi api,
    IReadOnlyCollection<string> namespaces,
    IReadOnlyList<Informer<TrainingJob>> jobInformers,
    IReadOnlyList<Informer<V1Pod>> podInformers,
    Informer<V1Node> nodeInformer,
    PodExpectations expectations,
    ILogger<ClusterPort> logger) : IClusterPort
{
    public TrainingJob? GetJob(string key)
    {
        var ns = key[..key.IndexOf('/', StringComparison.Ordinal)];
        return JobInformerFor(ns)?.Get(key);
    }

    public IReadOnlyList<V1Pod> PodsOf(TrainingJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var ns = job.Metadata.NamespaceProperty;
        var informer = PodInformerFor(ns);
        IReadOnlyList<V1Pod> cached = informer is null
            ? []
            : informer.Items
                .Where(p => p.Metadata.NamespaceProperty == ns && p.Metadata.OwnerReferences?.Any(o => o.Controller == true && o.Uid == job.Metadata.Uid) == true)
                .ToList();
        return cached.Concat(expectations.Pending(ns, job.Metadata.Uid)
                .Where(p => cached.All(c => c.Metadata.Name != p.Metadata.Name)))
            .ToList();
    }

    public IReadOnlyList<V1Pod> PodsNamedFor(string key)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        var (ns, name) = (key[..slash], key[(slash + 1)..]);
        return PodInformerFor(ns)?.Items
            .Where(p => p.Metadata.NamespaceProperty == ns && p.Metadata.OwnerReferences?.Any(o => o.Controller == true && o.Kind == TrainingJob.KubeKind && o.Name == name) == true)
            .ToList() ?? [];
    }

    /// <summary>
    /// The named Nodes as the cache has them. A Node the cache lacks is read from the API server before it counts as
    /// deleted (as pod GC checks before it acts), and only once the cache has listed; an error leaves it unknown.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, V1Node?>> NodesAsync(IReadOnlyCollection<string> names, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(names);
        var nodes = new Dictionary<string, V1Node?>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            if (nodeInformer.Get("/" + name) is { } cached)
            {
                nodes[name] = cached;
                continue;
            }

            if (!nodeInformer.Synced.IsCompletedSuccessfully)
            {
                continue;
            }

            try
            {
                nodes[name] = await api.GetNodeAsync(name, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log.NodeReadFailed(logger, name, e.Message);
            }
        }

        return nodes;
    }

    public async Task<PodCreation> CreatePodAsync(V1Pod pod, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pod);
        V1Pod existing;
        bool created;
        try
        {
            (existing, created) = await api.CreatePodAsync(pod, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode != HttpStatusCode.Conflict && !PodCreateRefusal.IsTransient((int)e.Response.StatusCode))
        {
            return new PodCreation.Refused(PodCreateRefusal.From((int)e.Response.StatusCode, e.Response.Content, e.Message));
        }

        // The cache may not show it yet: expected, unless it is another job's pod holding the name.
        if (created || ControllerUid(existing) == ControllerUid(pod))
        {
            expectations.Created(existing);
        }

        return created ? new PodCreation.Created(existing) : new PodCreation.NameTaken(existing);
    }

    public async Task<PodCreateRefusal?> EnsureServiceAsync(TrainingJob job, V1Service service, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(service);
        try
        {
            var (existing, created) = await api.CreateServiceAsync(service, cancellationToken).ConfigureAwait(false);
            if (created || K8sTraining.Operator.Pods.WorkerService.IsOwnedBy(existing, job))
            {
                return null;
            }

            if (K8sTraining.Operator.Pods.WorkerService.Adoptable(existing))
            {
                await api.AdoptServiceAsync(existing, service, cancellationToken).ConfigureAwait(false);
                return null;
            }

            var owner = existing.Metadata.OwnerReferences!.First(o => o.Controller == true);
            return new PodCreateRefusal(409, "AlreadyExists", $"service {service.Metadata.Name} (the workers' subdomain) exists and belongs to {owner.Kind} {owner.Name}; delete it or rename the job");
        }
        catch (HttpOperationException e) when (e.Response.StatusCode != HttpStatusCode.Conflict && !PodCreateRefusal.IsTransient((int)e.Response.StatusCode))
        {
            return PodCreateRefusal.From((int)e.Response.StatusCode, e.Response.Content, e.Message);
        }
    }

    public Task DeletePodAsync(string @namespace, string name, string? uid, CancellationToken cancellationToken) =>
        api.DeletePodAsync(@namespace, name, uid, cancellationToken);

    public Task ReleasePodAsync(V1Pod pod, CancellationToken cancellationToken) => api.ReleasePodAsync(pod, cancellationToken);

    public async Task<TrainingJob> ReplaceStatusAsync(TrainingJob read, TrainingJobStatus status, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(read);
        var update = new TrainingJob { Metadata = read.Metadata, Spec = read.Spec, Status = status };
        var written = await api.ReplaceStatusAsync(update, cancellationToken).ConfigureAwait(false);
        JobInformerFor(read.Metadata.NamespaceProperty)?.ReplaceIfUnchanged(read, written);
        return written;
    }

    public Task DeleteJobAsync(TrainingJob job, CancellationToken cancellationToken) => api.DeleteJobAsync(job, cancellationToken);

    public Task RecordEventAsync(TrainingJob job, JobEvent e, DateTimeOffset now, CancellationToken cancellationToken) =>
        api.RecordEventAsync(job, e, now, cancellationToken);

    public Informer<V1Pod>? PodInformerFor(string ns)
    {
        if (namespaces.Count == 0)
        {
            return podInformers[0];
        }

        var index = namespaces.ToList().IndexOf(ns);
        return index < 0 ? null : podInformers[index];
    }

    public Informer<TrainingJob>? JobInformerFor(string ns)
    {
        if (namespaces.Count == 0)
        {
            return jobInformers[0];
        }

        var index = namespaces.ToList().IndexOf(ns);
        return index < 0 ? null : jobInformers[index];
    }

    private static string? ControllerUid(V1Pod pod) => pod.Metadata.OwnerReferences?.FirstOrDefault(o => o.Controller == true)?.Uid;

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read node {Node}: {Message}; it counts as unknown")]
        public static partial void NodeReadFailed(ILogger logger, string node, string message);
    }
}
