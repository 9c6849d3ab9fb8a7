namespace K8sTraining.NodeAgent.Lifecycle;

/// <summary>
/// The local cluster's way to lose a node on purpose: annotate the Node <c>localcluster.k8straining.io/freeze</c> with
/// <c>kill</c> (its node agent kills its pods' processes and goes silent, like a VM that vanished) or <c>keep</c> (the
/// agent goes silent but its processes keep running: a network partition). Removing the annotation unfreezes it.
/// </summary>
public static class NodeFreeze
{
    public const string Annotation = "localcluster.k8straining.io/freeze";

    public const string Kill = "kill";

    public const string Keep = "keep";
}
