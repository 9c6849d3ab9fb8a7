namespace K8sTraining.LocalCluster.Controllers.Nodes;

/// <summary>
/// Timings of the node lifecycle controller, the taint manager, pod GC and the DefaultTolerationSeconds admission
/// plugin. The defaults are those of a real cluster (Kubernetes 1.32); tests and demos shorten them.
/// </summary>
public sealed record NodeLifecycleOptions
{
    /// <summary>How often node health is checked (kube-controller-manager --node-monitor-period, default 5 s).</summary>
    public TimeSpan NodeMonitorPeriod { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a node may go unheard before it is Ready=Unknown (--node-monitor-grace-period: 50 s since
    /// Kubernetes 1.32, 40 s before).</summary>
    public TimeSpan NodeMonitorGracePeriod { get; init; } = TimeSpan.FromSeconds(50);

    /// <summary>The same for a node whose kubelet never posted status (--node-startup-grace-period, default 60 s).</summary>
    public TimeSpan NodeStartupGracePeriod { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How often pod GC runs (its gcCheckPeriod, 20 s, not configurable in kube-controller-manager).</summary>
    public TimeSpan PodGcPeriod { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>How long a Node must be gone before pod GC removes its pods (its quarantineTime, 40 s).</summary>
    public TimeSpan PodGcOrphanQuarantine { get; init; } = TimeSpan.FromSeconds(40);

    /// <summary>How long a Node frozen with kill stays after it turns not Ready before the cloud double deletes it, as a
    /// cloud provider's node controller does once it finds the instance gone (it checks every node-monitor-period, so
    /// the default is zero: the first check).</summary>
    public TimeSpan CloudNodeDeletionDelay { get; init; } = TimeSpan.Zero;

    /// <summary>tolerationSeconds of the not-ready and unreachable NoExecute tolerations admission adds to pods without
    /// their own (kube-apiserver --default-not-ready-toleration-seconds and --default-unreachable-toleration-seconds,
    /// 300 each).</summary>
    public long DefaultTolerationSeconds { get; init; } = 300;
}
