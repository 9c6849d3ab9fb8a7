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

    /// <summary>The address given as hostIP and podIP.</summary>
    public string HostIP { get; init; } = "127.0.0.1";

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

    /// <summary>Create the Node object (and report it Ready) if the API server serves nodes.</summary>
    public bool RegisterNode { get; init; } = true;

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    public string ResolvedRootDirectory => RootDirectory ?? Path.Combine(RepositoryRoot, ".local", "nodes", NodeName);

    public string ResolvedImageTablePath => ImageTablePath ?? Path.Combine(RepositoryRoot, "localcluster", "images.yaml");
}
