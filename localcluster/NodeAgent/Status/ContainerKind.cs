namespace K8sTraining.NodeAgent.Status;

/// <summary>What part a container plays in its pod, which decides when it starts, restarts and stops.</summary>
public enum ContainerKind
{
    /// <summary>spec.containers: starts once the pod is initialized.</summary>
    Main,

    /// <summary>spec.initContainers without restartPolicy: runs to completion, one after the other, before the next.</summary>
    Init,

    /// <summary>
    /// spec.initContainers with restartPolicy Always (a native sidecar, KEP-753): started in order before the main
    /// containers, kept running (restarted when it exits), stopped after the main containers, in reverse order.
    /// </summary>
    Sidecar,
}
