using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Reconciliation;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace K8sTraining.Operator.Runtime;

/// <summary>The thin I/O shell: every call the operator makes to the API server, one method each (see <see cref="ApiOperations"/>).</summary>
public sealed class KubernetesApi(IKubernetes client, string identity)
{
    public const string FieldManager = "k8s-training-operator";

    /// <summary>Pods the operator created: trainer pods carry the job-name label.</summary>
    public const string TrainerPodSelector = WellKnown.JobNameLabel;

    public IKubernetes Client => client;

    /// <summary>TrainingJobs and trainer pods as informers read them: lists and watch events undecoded.</summary>
    public ListWatch JobsListWatch(string? ns) => new(
        async ct =>
        {
            using var response = await ListOrWatchJobsAsync(ns, null, false, null, ct).ConfigureAwait(false);
            return RawListOf(response.Body);
        },
        (rv, timeout, onError, ct) =>
#pragma warning disable CS0618 // The replacement (WatchList*Async) is typed; informers decode each event themselves.
            ListOrWatchJobsAsync(ns, rv, true, timeout, ct).WatchAsync<JsonElement, JsonElement>(onError, ct));
#pragma warning restore CS0618

    public ListWatch PodsListWatch(string? ns) => new(
        async ct =>
        {
            using var response = await ListOrWatchPodsAsync(ns, null, false, null, ct).ConfigureAwait(false);
            // The core API client returns pods typed; they go back to JSON so one informer serves both kinds (a relist is rare).
            var items = response.Body.Items.Select(ToElement).ToList();
            return new RawList(response.Body.Metadata.ResourceVersion, items);
        },
        (rv, timeout, onError, ct) =>
#pragma warning disable CS0618
            ListOrWatchPodsAsync(ns, rv, true, timeout, ct).WatchAsync<JsonElement, V1PodList>(onError, ct));
#pragma warning restore CS0618

    /// <summary>Nodes (cluster-scoped), to see a trainer pod's Node turn unreachable, NotReady or deleted.</summary>
    public ListWatch NodesListWatch() => new(
        async ct =>
        {
            using var response = await client.CoreV1.ListNodeWithHttpMessagesAsync(cancellationToken: ct).ConfigureAwait(false);
            var items = response.Body.Items.Select(ToElement).ToList();
            return new RawList(response.Body.Metadata.ResourceVersion, items);
        },
        (rv, timeout, onError, ct) =>
#pragma warning disable CS0618
            client.CoreV1.ListNodeWithHttpMessagesAsync(allowWatchBookmarks: true, resourceVersion: rv, timeoutSeconds: timeout, watch: true, cancellationToken: ct)
                .WatchAsync<JsonElement, V1NodeList>(onError, ct));
#pragma warning restore CS0618

    /// <summary>Reads a Node straight from the API server; null when it does not exist (confirms a deletion the cache shows).</summary>
    public async Task<V1Node?> GetNodeAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            return await client.CoreV1.ReadNodeAsync(name, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private Task<HttpOperationResponse<JsonElement>> ListOrWatchJobsAsync(string? ns, string? resourceVersion, bool watch, int? timeoutSeconds, CancellationToken cancellationToken) =>
        ns is null
            ? client.CustomObjects.ListClusterCustomObjectWithHttpMessagesAsync<JsonElement>(
                TrainingJob.KubeGroup, TrainingJob.KubeVersion, TrainingJob.KubePlural,
                allowWatchBookmarks: watch ? true : null, resourceVersion: resourceVersion, timeoutSeconds: timeoutSeconds, watch: watch,
                cancellationToken: cancellationToken)
            : client.CustomObjects.ListNamespacedCustomObjectWithHttpMessagesAsync<JsonElement>(
                TrainingJob.KubeGroup, TrainingJob.KubeVersion, ns, TrainingJob.KubePlural,
                allowWatchBookmarks: watch ? true : null, resourceVersion: resourceVersion, timeoutSeconds: timeoutSeconds, watch: watch,
                cancellationToken: cancellationToken);

    private Task<HttpOperationResponse<V1PodList>> ListOrWatchPodsAsync(string? ns, string? resourceVersion, bool watch, int? timeoutSeconds, CancellationToken cancellationToken) =>
        ns is null
            ? client.CoreV1.ListPodForAllNamespacesWithHttpMessagesAsync(
                allowWatchBookmarks: watch ? true : null, labelSelector: TrainerPodSelector, resourceVersion: resourceVersion,
                timeoutSeconds: timeoutSeconds, watch: watch, cancellationToken: cancellationToken)
            : client.CoreV1.ListNamespacedPodWithHttpMessagesAsync(
                ns, allowWatchBookmarks: watch ? true : null, labelSelector: TrainerPodSelector, resourceVersion: resourceVersion,
                timeoutSeconds: timeoutSeconds, watch: watch, cancellationToken: cancellationToken);

    private static JsonElement ToElement(object value)
    {
        using var document = JsonDocument.Parse(KubernetesJson.Serialize(value));
        return document.RootElement.Clone();
    }

    /// <summary>A list response's resourceVersion and items, each item left undecoded.</summary>
    public static RawList RawListOf(JsonElement list)
    {
        var resourceVersion = list.TryGetProperty("metadata", out var m) && m.TryGetProperty("resourceVersion", out var rv) ? rv.GetString() ?? "" : "";
        var items = list.TryGetProperty("items", out var i) && i.ValueKind == JsonValueKind.Array
            ? i.EnumerateArray().Select(e => e.Clone()).ToList()
            : [];
        return new RawList(resourceVersion, items);
    }

    /// <summary>Creates the pod; on 409 returns the pod that already has the name (ours after a crash, or an older job's) and false.</summary>
    public async Task<(V1Pod Pod, bool Created)> CreatePodAsync(V1Pod pod, CancellationToken cancellationToken)
    {
        try
        {
            return (await client.CoreV1.CreateNamespacedPodAsync(pod, pod.Metadata.NamespaceProperty, fieldManager: FieldManager, cancellationToken: cancellationToken).ConfigureAwait(false), true);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            try
            {
                return (await client.CoreV1.ReadNamespacedPodAsync(pod.Metadata.Name, pod.Metadata.NamespaceProperty, cancellationToken: cancellationToken).ConfigureAwait(false), false);
            }
            catch (HttpOperationException again) when (again.Response.StatusCode == HttpStatusCode.NotFound)
            {
                throw new ConflictException($"pod {pod.Metadata.Name} existed and vanished while creating it");
            }
        }
    }

    /// <summary>Creates the Service; on 409 returns the one that already has the name and false.</summary>
    public async Task<(V1Service Service, bool Created)> CreateServiceAsync(V1Service service, CancellationToken cancellationToken)
    {
        try
        {
            return (await client.CoreV1.CreateNamespacedServiceAsync(service, service.Metadata.NamespaceProperty, fieldManager: FieldManager, cancellationToken: cancellationToken).ConfigureAwait(false), true);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            try
            {
                return (await client.CoreV1.ReadNamespacedServiceAsync(service.Metadata.Name, service.Metadata.NamespaceProperty, cancellationToken: cancellationToken).ConfigureAwait(false), false);
            }
            catch (HttpOperationException again) when (again.Response.StatusCode == HttpStatusCode.NotFound)
            {
                throw new ConflictException($"service {service.Metadata.Name} existed and vanished while creating it");
            }
        }
    }

    /// <summary>Adopts a Service nobody controls: sets the job as its controller (and its selector and ports), guarded by its resourceVersion.</summary>
    public async Task AdoptServiceAsync(V1Service existing, V1Service wanted, CancellationToken cancellationToken)
    {
        var patch = KubernetesJson.Serialize(new
        {
            metadata = new { resourceVersion = existing.Metadata.ResourceVersion, ownerReferences = wanted.Metadata.OwnerReferences },
            spec = new { selector = wanted.Spec.Selector, ports = wanted.Spec.Ports, publishNotReadyAddresses = wanted.Spec.PublishNotReadyAddresses },
        });
        try
        {
            await client.CoreV1.PatchNamespacedServiceAsync(new V1Patch(patch, V1Patch.PatchType.MergePatch), existing.Metadata.Name, existing.Metadata.NamespaceProperty, fieldManager: FieldManager, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            throw new ConflictException($"service {existing.Metadata.Name} changed while adopting it");
        }
    }

    /// <summary>Deletes gracefully (the pod's own grace period); gone already is fine.</summary>
    public async Task DeletePodAsync(string ns, string name, string? uid, CancellationToken cancellationToken)
    {
        try
        {
            var options = new V1DeleteOptions { Preconditions = uid is null ? null : new V1Preconditions { Uid = uid } };
            await client.CoreV1.DeleteNamespacedPodAsync(name, ns, options, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound)
        {
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.Conflict)
        {
            // The uid precondition failed: a different pod with that name; nothing of ours to delete.
        }
    }

    /// <summary>Removes the tracking finalizer with the pod's resourceVersion as precondition.</summary>
    public async Task ReleasePodAsync(V1Pod pod, CancellationToken cancellationToken)
    {
        var remaining = (pod.Metadata.Finalizers ?? []).Where(f => f != WellKnown.TrackingFinalizer).ToList();
        var patch = JsonSerializer.Serialize(new
        {
            metadata = new { finalizers = remaining, resourceVersion = pod.Metadata.ResourceVersion },
        });
        try
        {
            await client.CoreV1.PatchNamespacedPodAsync(new V1Patch(patch, V1Patch.PatchType.MergePatch), pod.Metadata.Name, pod.Metadata.NamespaceProperty, fieldManager: FieldManager, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            throw new ConflictException($"pod {pod.Metadata.Name} changed while releasing it");
        }
    }

    /// <summary>Writes status through the /status subresource, guarded by the job's resourceVersion.</summary>
    public async Task<TrainingJob> ReplaceStatusAsync(TrainingJob job, CancellationToken cancellationToken)
    {
        try
        {
            return await client.CustomObjects.ReplaceNamespacedCustomObjectStatusAsync<TrainingJob>(
                job, TrainingJob.KubeGroup, TrainingJob.KubeVersion, job.Metadata.NamespaceProperty, TrainingJob.KubePlural, job.Metadata.Name,
                fieldManager: FieldManager, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            throw new ConflictException($"TrainingJob {job.Key} changed since it was read");
        }
    }

    public async Task DeleteJobAsync(TrainingJob job, CancellationToken cancellationToken)
    {
        try
        {
            var options = new V1DeleteOptions { PropagationPolicy = "Background", Preconditions = new V1Preconditions { Uid = job.Metadata.Uid } };
            await client.CustomObjects.DeleteNamespacedCustomObjectAsync(
                TrainingJob.KubeGroup, TrainingJob.KubeVersion, job.Metadata.NamespaceProperty, TrainingJob.KubePlural, job.Metadata.Name,
                options, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
        {
        }
    }

    /// <summary>
    /// Writes the status of a TrainingJob the operator cannot decode: the raw object, its status changed, through the
    /// /status subresource (the spec in the body is ignored there), guarded by the resourceVersion it carries.
    /// </summary>
    public async Task ReplaceRawStatusAsync(string ns, string name, JsonObject raw, CancellationToken cancellationToken)
    {
        try
        {
            await client.CustomObjects.ReplaceNamespacedCustomObjectStatusAsync<JsonElement>(
                raw, TrainingJob.KubeGroup, TrainingJob.KubeVersion, ns, TrainingJob.KubePlural, name,
                fieldManager: FieldManager, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            throw new ConflictException($"TrainingJob {ns}/{name} changed since it was read");
        }
    }

    public Task RecordEventAsync(TrainingJob job, JobEvent e, DateTimeOffset now, CancellationToken cancellationToken) =>
        RecordEventAsync(JobReference(job.Metadata.NamespaceProperty, job.Metadata.Name, job.Metadata.Uid, job.Metadata.ResourceVersion), e, now, cancellationToken);

    /// <summary>The involvedObject of an Event about a TrainingJob (also one the operator cannot decode).</summary>
    public static V1ObjectReference JobReference(string @namespace, string name, string? uid, string? resourceVersion) => new()
    {
        ApiVersion = TrainingJob.KubeApiVersion,
        Kind = TrainingJob.KubeKind,
        Name = name,
        NamespaceProperty = @namespace,
        Uid = uid,
        ResourceVersion = resourceVersion,
    };

    /// <summary>Records an Event on any object; the name is built as client-go builds it (<see cref="EventNames"/>).</summary>
    public async Task RecordEventAsync(V1ObjectReference involved, JobEvent e, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var time = now.UtcDateTime;
        var ev = new Corev1Event
        {
            Metadata = new V1ObjectMeta
            {
                Name = EventNames.ForNow(involved.Name, now),
                NamespaceProperty = involved.NamespaceProperty,
            },
            InvolvedObject = involved,
            Type = e.Type,
            Reason = e.Reason,
            Message = e.Message,
            Count = 1,
            FirstTimestamp = time,
            LastTimestamp = time,
            Source = new V1EventSource { Component = FieldManager },
            ReportingComponent = "k8straining.io/operator",
            ReportingInstance = identity,
        };
        await client.CoreV1.CreateNamespacedEventAsync(ev, involved.NamespaceProperty, cancellationToken: cancellationToken).ConfigureAwait(false);
    }
}
