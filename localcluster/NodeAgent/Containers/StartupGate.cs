using k8s.Models;

namespace K8sTraining.NodeAgent.Containers;

/// <summary>
/// The one startup probe the node agent reproduces: <c>exec: ["test", "-f", PATH]</c>, which passes once PATH exists
/// (PATH mapped like any other path under a volume mount). A container with any other probe, or none, counts as
/// started once its process runs.
/// </summary>
public static class StartupGate
{
    /// <summary>How often the agent looks for the file (a real kubelet runs the probe every periodSeconds).</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>The local file the container's startup probe waits for; null when it has no probe of that form.</summary>
    public static string? FileOf(V1Container container, PathMapper paths)
    {
        ArgumentNullException.ThrowIfNull(container);
        ArgumentNullException.ThrowIfNull(paths);
        return container.StartupProbe?.Exec?.Command is ["test", "-f", var path] && path.Length > 0 ? paths.MapPath(path) ?? path : null;
    }
}
