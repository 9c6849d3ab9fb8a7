using k8s.Models;

namespace K8sTraining.NodeAgent.Watch;

/// <summary>Receives the pods bound to the node as the watch sees them.</summary>
internal interface IPodSink
{
    void Upsert(V1Pod pod);

    void Remove(V1Pod pod);

    /// <summary>A fresh list: every pod that exists now; any pod not in it is gone.</summary>
    void Resync(IReadOnlyList<V1Pod> pods);
}
