using k8s;

namespace K8sTraining.NodeAgent;

/// <summary>Settings of the local node agent. Give one of Client, ClientConfiguration or KubeconfigPath.</summary>
public sealed record NodeAgentOptions
{
    /// <summary>A client to use as is (not disposed by the agent).</summary>
    public IKubernetes? Client { get; init; }

    public KubernetesClientConfiguration? ClientConfiguration { get; init; }

    public string? KubeconfigPath { get; init; }

    /// <summary>The repository root: `${REPO}` in the image table, and the default place of the table and root directory.</summary>
    public required string RepositoryRoot { get; init; }

    public string NodeName { get; init; } = "local-node";

    /// <summary>Where pod directories go; default `&lt;RepositoryRoot&gt;/.local/nodes/&lt;NodeName&gt;`.</summary>
    public string? RootDirectory { get; init; }

    /// <summary>The image table; default `&lt;RepositoryRoot&gt;/localcluster/images.yaml`.</summary>
    public string? ImageTablePath { get; init; }

    /// <summary>The node's address: status.hostIP of its pods.</summary>
    public string HostIP { get; init; } = "127.0.0.1";

    /// <summary>Where pod addresses (status.podIP) come from: a /16 of 127.0.0.0/8; default 127.i.0.0/16 for HostIP
    /// 127.0.0.i (<see cref="Network.PodAddressPool"/>).</summary>
    public string? PodAddressRange { get; init; }

    /// <summary>The directory of the machine's pod address claims, shared by every node agent on it, so that two local
    /// clusters running side by side never give one address to two pods (<see cref="Network.HostAddressClaims"/>);
    /// default <c>$TMPDIR/k8straining-pod-addresses</c>.</summary>
    public string? PodAddressClaimsDirectory { get; init; }

    /// <summary>The pod network library put into every container process (LD_PRELOAD); default the one the build
    /// copies beside the node agent's assembly.</summary>
    public string? PodNetworkLibrary { get; init; }

    /// <summary>Server-side watch timeout (randomised to [t, 2t) like a reflector).</summary>
    public TimeSpan WatchTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The kubelet never gives a container less than 2 s between SIGTERM and SIGKILL.</summary>
    public TimeSpan MinimumGracePeriod { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Crash-loop back-off: first restart at once, then this, doubling up to RestartBackoffMax.</summary>
    public TimeSpan RestartBackoffInitial { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan RestartBackoffMax { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How often a container whose configuration cannot be built (missing Secret, unknown image) is retried.</summary>
    public TimeSpan ConfigRetryInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>When the agent stops: zero kills pod processes at once; more sends SIGTERM and waits that long first.</summary>
    public TimeSpan ShutdownGracePeriod { get; init; } = TimeSpan.Zero;

    /// <summary>
    /// Register the Node, keep it Ready with a heartbeat (its Lease in kube-node-lease and its Ready condition), and
    /// watch it for the freeze annotation (localcluster.k8straining.io/freeze).
    /// </summary>
    public bool RegisterNode { get; init; } = true;

    /// <summary>The Lease's leaseDurationSeconds (kubelet nodeLeaseDurationSeconds, default 40 s).</summary>
    public TimeSpan NodeLeaseDuration { get; init; } = TimeSpan.FromSeconds(40);

    /// <summary>How often the Lease is renewed (the kubelet: a quarter of the lease duration, 10 s).</summary>
    public TimeSpan NodeLeaseRenewInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the Node's status is posted when nothing changed (kubelet nodeStatusReportFrequency, 5 min);
    /// a change (the Ready condition not True, say after the node lifecycle controller marked it Unknown) is posted at
    /// the next renewal.</summary>
    public TimeSpan NodeStatusReportFrequency { get; init; } = TimeSpan.FromMinutes(5);

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    public string ResolvedRootDirectory => RootDirectory ?? Path.Combine(RepositoryRoot, ".local", "nodes", NodeName);

    public string ResolvedPodAddressRange => PodAddressRange ?? Network.PodAddressPool.DefaultRangeFor(HostIP);

    public string ResolvedImageTablePath => ImageTablePath ?? Path.Combine(RepositoryRoot, "localcluster", "images.yaml");
}
