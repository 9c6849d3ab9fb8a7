using K8sTraining.NodeAgent;
using Microsoft.Extensions.Logging;

namespace K8sTraining.LocalCluster.Hosting;

/// <summary>How to start the local control plane.</summary>
public sealed record LocalControlPlaneOptions
{
    /// <summary>Loopback port of the API server; 0 picks a free one.</summary>
    public int Port { get; init; }

    /// <summary>Where the kubeconfig is written; a file in a fresh temporary directory when null.</summary>
    public string? KubeconfigPath { get; init; }

    /// <summary>Also append the request audit log to this file as JSON lines.</summary>
    public string? AuditLogPath { get; init; }

    /// <summary>Working directories of the node agent's pods (default .local/nodes/local-node in the repository).</summary>
    public string? StateDirectory { get; init; }

    /// <summary>Run the node agent in-process so pods bound to <see cref="NodeName"/> run as local processes.</summary>
    public bool StartNodeAgent { get; init; }

    /// <summary>The repository root the node agent maps images from; found by walking up to K8sTraining.sln when null.</summary>
    public string? RepositoryRoot { get; init; }

    /// <summary>The node every new pod is bound to (the trivial scheduler); empty leaves pods unscheduled.</summary>
    public string NodeName { get; init; } = "local-node";

    /// <summary>How often a watch with allowWatchBookmarks gets a BOOKMARK (a real server: about a minute).</summary>
    public TimeSpan BookmarkInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a watch without timeoutSeconds stays open.</summary>
    public TimeSpan DefaultWatchTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>How many changes watches can resume across; older resourceVersions get 410 Gone.</summary>
    public int WatchHistorySize { get; init; } = 100_000;

    /// <summary>
    /// Run the admission a real cluster runs on pod creates: the ServiceAccount and PriorityClass must exist, and the
    /// namespace's Pod Security level (<c>pod-security.kubernetes.io/enforce</c>) is enforced.
    /// </summary>
    public bool EnforcePodAdmission { get; init; } = true;

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    public LogLevel LogLevel { get; init; } = LogLevel.Warning;

    /// <summary>Adjusts the node agent's options before it starts (tests shorten its timings).</summary>
    public Func<NodeAgentOptions, NodeAgentOptions>? ConfigureNodeAgent { get; init; }
}
