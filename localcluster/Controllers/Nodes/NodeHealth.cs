namespace K8sTraining.LocalCluster.Controllers.Nodes;

/// <summary>
/// What the node lifecycle controller sees of a node: when it was created, the newest sign of life (its Lease's
/// renewTime or its Ready condition's lastHeartbeatTime) and the Ready status it shows now.
/// </summary>
public sealed record NodeObservation(DateTimeOffset Created, DateTimeOffset? LastHeartbeat, string? ReadyStatus);

/// <summary>The Ready condition the node should show (with its reason and message when the controller writes it) and
/// the NoExecute taint that goes with it (null: none).</summary>
public sealed record NodeHealthVerdict(string ReadyStatus, string? Reason, string? Message, string? NoExecuteTaint)
{
    /// <summary>The controller writes the condition only when it turns the node Unknown itself.</summary>
    public bool ControllerWritesCondition => Reason is not null;
}

/// <summary>
/// tryUpdateNodeHealth of kube-controller-manager's node lifecycle controller: a node whose kubelet has not been heard
/// from (Lease or status) for the grace period (the startup grace period when it never posted) becomes Ready=Unknown;
/// Unknown brings the unreachable NoExecute taint, Ready=False the not-ready one, Ready=True none.
/// </summary>
public static class NodeHealth
{
    public const string NodeStatusUnknown = "NodeStatusUnknown";
    public const string NodeStatusNeverUpdated = "NodeStatusNeverUpdated";

    public static NodeHealthVerdict Evaluate(NodeObservation node, DateTimeOffset now, TimeSpan gracePeriod, TimeSpan startupGracePeriod)
    {
        var (since, grace) = node.LastHeartbeat is { } beat ? (beat, gracePeriod) : (node.Created, startupGracePeriod);
        if (now - since > grace)
        {
            return node.LastHeartbeat is null || node.ReadyStatus is null
                ? new NodeHealthVerdict("Unknown", NodeStatusNeverUpdated, "Kubelet never posted node status.", Taint.Unreachable)
                : new NodeHealthVerdict("Unknown", NodeStatusUnknown, "Kubelet stopped posting node status.", Taint.Unreachable);
        }

        return node.ReadyStatus switch
        {
            "True" => new NodeHealthVerdict("True", null, null, null),
            "False" => new NodeHealthVerdict("False", null, null, Taint.NotReady),
            "Unknown" => new NodeHealthVerdict("Unknown", null, null, Taint.Unreachable),
            _ => new NodeHealthVerdict("Unknown", null, null, null), // not posted yet, still within the startup grace period
        };
    }
}

/// <summary>
/// The taint manager's decision for one pod on a node with NoExecute taints: evict at once when a taint is not
/// tolerated, after the smallest tolerationSeconds of the matching tolerations (counted from when the taint was added),
/// or never when they tolerate it forever.
/// </summary>
public static class TaintEviction
{
    public const string DeletionByTaintManager = "DeletionByTaintManager";

    /// <summary>When to evict; null: not at all.</summary>
    public static DateTimeOffset? EvictAt(IReadOnlyList<Taint> taints, IReadOnlyList<Toleration> tolerations, DateTimeOffset now)
    {
        var noExecute = taints.Where(t => t.Effect == Taint.NoExecute).ToList();
        if (noExecute.Count == 0)
        {
            return null;
        }

        if (noExecute.Any(t => !tolerations.Any(tol => tol.Tolerates(t))))
        {
            return now;
        }

        // getMinTolerationTime: the smallest tolerationSeconds among the tolerations that match a taint (<= 0: at once);
        // tolerations without tolerationSeconds tolerate forever.
        var seconds = tolerations
            .Where(tol => noExecute.Any(tol.Tolerates) && tol.TolerationSeconds is not null)
            .Select(tol => Math.Max(0, tol.TolerationSeconds!.Value))
            .DefaultIfEmpty(-1)
            .Min();
        if (seconds < 0)
        {
            return null;
        }

        var start = noExecute.Select(t => t.TimeAdded ?? now).Min();
        return start + TimeSpan.FromSeconds(seconds);
    }
}
