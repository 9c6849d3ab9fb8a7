using System.Globalization;
using K8sTraining.Operator.Api;
using k8s.Models;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>The first sign that a pod's Node is lost: which Node, since when (null when nothing says), why.</summary>
public sealed record NodeLossSign(string Node, DateTimeOffset? Since, string Reason, string Description);

/// <summary>
/// What to do about a pod on a lost Node: <see cref="ReplaceNow"/> (the Replace policy's time has come), or wait and
/// look again after <see cref="RecheckAfter"/>. <see cref="ConditionReason"/> and <see cref="Message"/> go on the
/// NodeLost condition.
/// </summary>
public sealed record NodeLossVerdict(
    NodeLossSign Sign,
    DateTimeOffset Since,
    string Policy,
    bool ReplaceNow,
    TimeSpan? RecheckAfter,
    string ConditionReason,
    string Message);

/// <summary>
/// Pure reading of Node loss (issue 12). A Node is lost when its Ready condition is Unknown (it stopped reporting) or
/// False, when it carries the node lifecycle controller's unreachable / not-ready NoExecute taint, or when it was
/// deleted; and, for a pod whose Node the operator cannot see, when the pod has DisruptionTarget from the taint
/// manager or pod GC. The loss dates from its first sign. Under <see cref="NodeLossPolicies.Wait"/> the operator waits
/// until the pod is gone (never two trainers); under <see cref="NodeLossPolicies.Replace"/> it creates the replacement
/// once the Node has been lost for spec.nodeLossReplaceAfterSeconds, leaving the old pod alone: the old trainer may
/// still run behind a partition, and checkpoint fencing (a commit from an older attempt than the newest is refused,
/// exit 76) is what keeps it from overwriting the replacement's checkpoints.
/// </summary>
public static class NodeLoss
{
    public const string NodeUnreachable = "NodeUnreachable";
    public const string NodeNotReady = "NodeNotReady";
    public const string NodeDeleted = "NodeDeleted";

    /// <summary>How often a Wait is looked at again without any event (a safety net: pod and Node events wake it).</summary>
    public static readonly TimeSpan WaitRecheck = TimeSpan.FromSeconds(15);

    /// <summary>DisruptionTarget reasons that mean the pod's Node is gone or unreachable.</summary>
    private static readonly IReadOnlySet<string> NodeDisruptions = new HashSet<string>(StringComparer.Ordinal) { "DeletionByTaintManager", "DeletionByPodGC" };

    /// <summary>
    /// The earliest sign that <paramref name="pod"/>'s Node is lost, or null. <paramref name="nodes"/> holds what the
    /// operator knows of Nodes by name: the Node, or null when it is known to be deleted; a name it lacks is unknown.
    /// </summary>
    public static NodeLossSign? SignOf(V1Pod pod, IReadOnlyDictionary<string, V1Node?> nodes)
    {
        ArgumentNullException.ThrowIfNull(pod);
        ArgumentNullException.ThrowIfNull(nodes);
        var name = pod.Spec?.NodeName;
        if (string.IsNullOrEmpty(name))
        {
            return null;
        }

        var signs = new List<NodeLossSign>();
        var known = nodes.TryGetValue(name, out var node);
        if (known && node is null)
        {
            signs.Add(new NodeLossSign(name, ReadyFalseSince(pod), NodeDeleted, $"node {name} no longer exists (deleted)"));
        }
        else if (node is not null)
        {
            var ready = node.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready");
            if (ready?.Status is "Unknown" or "False")
            {
                var unknown = ready.Status == "Unknown";
                var why = string.IsNullOrEmpty(ready.Reason) ? "" : $", {ready.Reason}";
                signs.Add(new NodeLossSign(
                    name,
                    At(ready.LastTransitionTime),
                    unknown ? NodeUnreachable : NodeNotReady,
                    unknown ? $"node {name} stopped reporting (Ready Unknown{why})" : $"node {name} is NotReady (Ready False{why})"));
            }

            foreach (var taint in node.Spec?.Taints ?? [])
            {
                if (taint.Effect == "NoExecute" && taint.Key is WellKnown.UnreachableTaint or WellKnown.NotReadyTaint)
                {
                    signs.Add(new NodeLossSign(
                        name,
                        At(taint.TimeAdded),
                        taint.Key == WellKnown.UnreachableTaint ? NodeUnreachable : NodeNotReady,
                        $"node {name} has taint {taint.Key}:NoExecute"));
                }
            }
        }

        // Without a view of the Node (or with a stale one), the pod's own disruption still says its Node is lost; with a
        // healthy Node the taint manager evicts for another taint, and the kubelet stops the trainer as usual.
        var nodeHealthy = node is not null && signs.Count == 0;
        var disruption = pod.Status?.Conditions?.FirstOrDefault(c => c.Type == WellKnown.DisruptionTarget && c.Status == "True" && c.Reason is not null && NodeDisruptions.Contains(c.Reason));
        if (disruption is not null && !nodeHealthy)
        {
            signs.Add(new NodeLossSign(name, At(disruption.LastTransitionTime), disruption.Reason, $"pod {pod.Metadata?.Name} on node {name} was disrupted ({disruption.Reason})"));
        }

        return signs.Count == 0
            ? null
            : signs.OrderBy(s => s.Since ?? DateTimeOffset.MaxValue).First() with { Since = signs.Min(s => s.Since) };
    }

    /// <summary>
    /// What to do about the current attempt's <paramref name="pod"/> (alive: pending, running or terminating), or null
    /// when its Node is not lost. The loss dates from its first sign, or from when the status first recorded it.
    /// </summary>
    public static NodeLossVerdict? Judge(TrainingJob job, V1Pod pod, IReadOnlyDictionary<string, V1Node?> nodes, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (SignOf(pod, nodes) is not { } sign)
        {
            return null;
        }

        var recorded = job.Status?.NodeLoss is { Since: { } at } r && r.Pod == pod.Metadata?.Name ? At(at) : null;
        var since = Earliest(sign.Since, recorded) ?? now;
        var spec = job.Spec;
        var policy = spec.EffectiveNodeLossPolicy;
        var podName = pod.Metadata?.Name;
        var lost = $"{sign.Description} since {Time(since)} ({Seconds(now - since)}s ago)";
        if (policy == NodeLossPolicies.Replace)
        {
            var due = since.AddSeconds(spec.EffectiveNodeLossReplaceAfterSeconds);
            if (now >= due)
            {
                return new NodeLossVerdict(sign, since, policy, true, null, ConditionReasons.ReplacedUnderReplacePolicy,
                    $"{lost}; nodeLossPolicy Replace: pod {podName} replaced after nodeLossReplaceAfterSeconds ({spec.EffectiveNodeLossReplaceAfterSeconds}s); it is left on the node, and checkpoint fencing refuses its commits if it still runs");
            }

            return new NodeLossVerdict(sign, since, policy, false, due - now, ConditionReasons.WaitingToReplace,
                $"{lost}; nodeLossPolicy Replace: replacing pod {podName} at {Time(due)} (nodeLossReplaceAfterSeconds {spec.EffectiveNodeLossReplaceAfterSeconds}s) unless the node recovers first");
        }

        return new NodeLossVerdict(sign, since, policy, false, WaitRecheck, ConditionReasons.WaitingForPodToGo,
            $"{lost}; nodeLossPolicy Wait: waiting for pod {podName} to be gone before the next attempt starts (the taint manager evicts it after nodeLossToleranceSeconds ({spec.EffectiveNodeLossToleranceSeconds}s); with no kubelet to confirm, it goes when the Node object is deleted)");
    }

    /// <summary>
    /// True for a pod whose attempt has ended in the status (recorded, or an older one) and which the Replace policy
    /// left on its lost Node: it neither blocks a new attempt nor counts as a live trainer.
    /// </summary>
    public static bool Abandoned(TrainingJob job, TrainingJobStatus status, V1Pod pod, IReadOnlyDictionary<string, V1Node?> nodes, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(status);
        var attempt = PodClassifier.AttemptOf(pod);
        var ended = attempt < status.Attempt || (attempt == status.Attempt && status.LastTermination?.Attempt == attempt);
        return ended && job.Spec.EffectiveNodeLossPolicy == NodeLossPolicies.Replace && (RecordedAsLost(status, pod) || Judge(job, pod, nodes, now) is { ReplaceNow: true });
    }

    /// <summary>
    /// True when the status already ended <paramref name="pod"/>'s attempt as lost with its Node (the Replace policy
    /// acted): the attempt stays given up even if its Node comes back before the replacement exists.
    /// </summary>
    public static bool RecordedAsLost(TrainingJobStatus status, V1Pod pod)
    {
        ArgumentNullException.ThrowIfNull(status);
        return status.LastTermination is { Reason: ConditionReasons.NodeLost } t && t.Attempt == PodClassifier.AttemptOf(pod);
    }

    /// <summary>The record the status keeps of a loss (its first sign is kept as the loss goes on).</summary>
    public static NodeLossRecord Record(NodeLossVerdict verdict, V1Pod pod, int attempt) => new()
    {
        Node = verdict.Sign.Node,
        Attempt = attempt,
        Pod = pod.Metadata?.Name,
        Since = verdict.Since.UtcDateTime,
        Reason = verdict.Sign.Reason,
        Policy = verdict.Policy,
    };

    public static string Seconds(TimeSpan span) => Math.Max(0, span.TotalSeconds).ToString("0", CultureInfo.InvariantCulture);

    public static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private static DateTimeOffset? ReadyFalseSince(V1Pod pod) =>
        pod.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready" && c.Status == "False") is { } ready ? At(ready.LastTransitionTime) : null;

    private static DateTimeOffset? At(DateTime? time) =>
        time is { } t ? new DateTimeOffset(DateTime.SpecifyKind(t, t.Kind == DateTimeKind.Unspecified ? DateTimeKind.Utc : t.Kind)).ToUniversalTime() : null;

    private static DateTimeOffset? Earliest(DateTimeOffset? a, DateTimeOffset? b) =>
        a is null ? b : b is null ? a : a < b ? a : b;
}
