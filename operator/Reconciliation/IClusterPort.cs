using K8sTraining.Operator.Api;
using k8s.Models;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>
/// The reconciler's one way to the cluster: reads from the informers' caches, writes to the API server. Every write is
/// idempotent; a write that lost an optimistic-concurrency race throws <see cref="ConflictException"/>.
/// </summary>
public interface IClusterPort
{
    /// <summary>The job as the cache has it; null when it is gone.</summary>
    TrainingJob? GetJob(string key);

    /// <summary>The job's pods: the cache's, and those this operator created that the cache has not shown yet.</summary>
    IReadOnlyList<V1Pod> PodsOf(TrainingJob job);

    /// <summary>Pods whose controlling owner is a TrainingJob with the name in <paramref name="key"/> (namespace/name): the job's, an earlier job's of that name, or a gone job's.</summary>
    IReadOnlyList<V1Pod> PodsNamedFor(string key);

    /// <summary>The named Nodes by name: the Node, or null when it is known to be deleted; a name left out is unknown.</summary>
    Task<IReadOnlyDictionary<string, V1Node?>> NodesAsync(IReadOnlyCollection<string> names, CancellationToken cancellationToken);

    /// <summary>Creates the pod (and expects it in the cache); a pod already holding the name is returned, not an error.</summary>
    Task<PodCreation> CreatePodAsync(V1Pod pod, CancellationToken cancellationToken);

    /// <summary>
    /// Makes sure <paramref name="service"/> exists: created, or the one holding its name when it is the job's own, or
    /// adopted when nobody controls it; a refusal (or a Service another owner controls) comes back as the refusal.
    /// </summary>
    Task<PodCreateRefusal?> EnsureServiceAsync(TrainingJob job, V1Service service, CancellationToken cancellationToken);

    /// <summary>Deletes gracefully, only the pod with <paramref name="uid"/> when given; gone already is fine.</summary>
    Task DeletePodAsync(string @namespace, string name, string? uid, CancellationToken cancellationToken);

    /// <summary>Removes the tracking finalizer, guarded by the pod's resourceVersion.</summary>
    Task ReleasePodAsync(V1Pod pod, CancellationToken cancellationToken);

    /// <summary>Writes <paramref name="status"/> on the job as <paramref name="read"/> (guarded by its resourceVersion), and into the cache.</summary>
    Task<TrainingJob> ReplaceStatusAsync(TrainingJob read, TrainingJobStatus status, CancellationToken cancellationToken);

    Task DeleteJobAsync(TrainingJob job, CancellationToken cancellationToken);

    Task RecordEventAsync(TrainingJob job, JobEvent e, DateTimeOffset now, CancellationToken cancellationToken);
}

/// <summary>What a pod create came to: created, a pod already holding the name, or refused by the API server (admission, quota, validation).</summary>
public abstract record PodCreation
{
    public sealed record Created(V1Pod Pod) : PodCreation;

    public sealed record NameTaken(V1Pod Holder) : PodCreation;

    public sealed record Refused(PodCreateRefusal Refusal) : PodCreation;
}
