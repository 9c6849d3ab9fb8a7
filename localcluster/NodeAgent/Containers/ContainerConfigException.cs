namespace K8sTraining.NodeAgent.Containers;

/// <summary>
/// The container's configuration cannot be built (missing Secret or key, bad field path): the kubelet reports this as
/// waiting with reason CreateContainerConfigError and retries.
/// </summary>
public sealed class ContainerConfigException(string message) : Exception(message);
