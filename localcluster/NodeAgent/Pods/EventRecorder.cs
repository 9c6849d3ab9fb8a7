using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace K8sTraining.NodeAgent.Pods;

/// <summary>
/// Records the kubelet's events on a pod (Pulled, Created, Started, Killing, BackOff, Failed) so that
/// `kubectl describe pod` tells the story; best effort and off the pod worker's path, as in the kubelet.
/// </summary>
internal sealed class EventRecorder(IKubernetes client, string nodeName, TimeProvider time, ILogger logger)
{
    public const string Normal = "Normal";
    public const string Warning = "Warning";

    public void Record(V1Pod pod, string container, string type, string reason, string message)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var ns = pod.Metadata.NamespaceProperty ?? "default";
        var index = pod.Spec.Containers.ToList().FindIndex(c => c.Name == container);
        var item = new Corev1Event
        {
            Metadata = new V1ObjectMeta { Name = $"{pod.Metadata.Name}.{Guid.NewGuid():N}"[..Math.Min(253, pod.Metadata.Name.Length + 17)], NamespaceProperty = ns },
            InvolvedObject = new V1ObjectReference
            {
                ApiVersion = "v1",
                Kind = "Pod",
                Name = pod.Metadata.Name,
                NamespaceProperty = ns,
                Uid = pod.Metadata.Uid,
                ResourceVersion = pod.Metadata.ResourceVersion,
                FieldPath = index >= 0 ? $"spec.containers{{{container}}}" : null,
            },
            Type = type,
            Reason = reason,
            Message = message,
            Source = new V1EventSource { Component = "kubelet", Host = nodeName },
            ReportingComponent = "kubelet",
            ReportingInstance = nodeName,
            FirstTimestamp = now,
            LastTimestamp = now,
            Count = 1,
        };
        _ = Task.Run(async () =>
        {
            try
            {
                await client.CoreV1.CreateNamespacedEventAsync(item, ns).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or k8s.Autorest.HttpOperationException or IOException or OperationCanceledException or ObjectDisposedException)
            {
                Log.EventNotRecorded(logger, e, reason, ns, pod.Metadata.Name);
            }
        });
    }
}
