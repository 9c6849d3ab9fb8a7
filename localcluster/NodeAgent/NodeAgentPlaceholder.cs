namespace K8sTraining.NodeAgent;

internal static class NodeAgentPlaceholder;
