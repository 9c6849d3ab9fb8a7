using K8sTraining.LocalCluster.Hosting;
using K8sTraining.TestSupport;

namespace K8sTraining.ClusterSupport;

/// <summary>How to start a <see cref="LocalTestCluster"/>.</summary>
public sealed record LocalTestClusterOptions
{
    /// <summary>Adjusts the control plane's options (nodes, node lifecycle timings); one node with real timings when null.</summary>
    public Func<LocalControlPlaneOptions, LocalControlPlaneOptions>? Configure { get; init; }

    /// <summary>An S3 endpoint to put in the namespaces' s3-credentials Secret; a private s3rver is started when null.</summary>
    public string? S3Endpoint { get; init; }

    /// <summary>The secret access key the s3-credentials Secret holds (s3rver's own unless the server accepts any signature).</summary>
    public string S3SecretKey { get; init; } = S3rverServer.SecretKey;

    /// <summary>Where the cluster keeps its files; a fresh temporary directory (deleted on dispose) when null.</summary>
    public string? ScratchDirectory { get; init; }
}
