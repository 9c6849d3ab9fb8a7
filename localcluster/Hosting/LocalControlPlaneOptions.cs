using K8sTraining.LocalCluster.Controllers.Nodes;
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

    /// <summary>The directory whose <c>nodes/&lt;node&gt;</c> holds each node agent's pods (default .local in the repository).</summary>
    public string? StateDirectory { get; init; }

    /// <summary>
    /// Run <see cref="Nodes"/> node agents in-process, with the scheduler and the node lifecycle controllers, so pods
    /// run as local processes. Without them, pods are bound to <see cref="NodeName"/> when created (an agent run
    /// elsewhere serves it) and no node controller runs.
    /// </summary>
    public bool StartNodeAgent { get; init; }

    /// <summary>How many nodes (node agents): <see cref="NodeName"/>, then NodeName-2, NodeName-3 ...; node i has
    /// HostIP 127.0.0.i and gives its pods addresses from 127.i.0.0/16.</summary>
    public int Nodes { get; init; } = 1;

    /// <summary>Node lifecycle controller, taint manager, pod GC and DefaultTolerationSeconds timings (real defaults).</summary>
    public NodeLifecycleOptions NodeLifecycle { get; init; } = new();

    /// <summary>Each node agent's Lease duration (kubelet nodeLeaseDurationSeconds, default 40 s).</summary>
    public TimeSpan NodeLeaseDuration { get; init; } = TimeSpan.FromSeconds(40);

    /// <summary>How often each node agent renews its Lease (the kubelet: a quarter of the lease duration, 10 s).</summary>
    public TimeSpan NodeLeaseRenewInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How often a node agent posts its Node status when nothing changed (kubelet nodeStatusReportFrequency, 5 min).</summary>
    public TimeSpan NodeStatusReportFrequency { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The repository root the node agent maps images from; found by walking up to K8sTraining.sln when null.</summary>
    public string? RepositoryRoot { get; init; }

    /// <summary>The first node's name (the others add -2, -3 ...); without in-process node agents, the node every new pod
    /// is bound to when created (empty leaves pods unscheduled).</summary>
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

    /// <summary>Adjusts each node agent's options before it starts (tests shorten its timings). Keep NodeName, HostIP
    /// and RootDirectory as given: they tell the nodes apart.</summary>
    public Func<NodeAgentOptions, NodeAgentOptions>? ConfigureNodeAgent { get; init; }
}

/// <summary>The names and addresses of the local nodes.</summary>
public static class LocalNodes
{
    /// <summary>Node i (1-based): the first is <paramref name="first"/>, then first-2, first-3 ...</summary>
    public static string Name(string first, int i) => i == 1 ? first : $"{first}-{i}";

    /// <summary>Node i's HostIP: 127.0.0.i (its pods' addresses come from 127.i.0.0/16).</summary>
    public static string HostIP(int i) => $"127.0.0.{i}";
}
