namespace K8sTraining.LocalCluster.Controllers.Nodes;

/// <summary>What the scheduler knows of a node: readiness, taints, labels and how many pods it runs.</summary>
public sealed record NodeCandidate(
    string Name,
    bool Ready,
    IReadOnlyList<Taint> Taints,
    IReadOnlyDictionary<string, string> Labels,
    int Pods,
    bool Unschedulable = false,
    bool Deleting = false);

/// <summary>The node a pod is bound to, or why none fits (the PodScheduled=False message).</summary>
public sealed record SchedulingResult(string? Node, string Message);

/// <summary>
/// The default scheduler reduced to its filters that matter here (node Ready, spec.unschedulable, NoSchedule and
/// NoExecute taints against tolerations, nodeSelector) and one score: spread, fewest pods first, then by name.
/// </summary>
public static class SchedulingDecision
{
    public static SchedulingResult Schedule(
        IReadOnlyList<Toleration> tolerations,
        IReadOnlyDictionary<string, string>? nodeSelector,
        IReadOnlyList<NodeCandidate> nodes)
    {
        var reasons = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var fits = new List<NodeCandidate>();
        foreach (var node in nodes)
        {
            var reason = Reject(node, tolerations, nodeSelector);
            if (reason is null)
            {
                fits.Add(node);
            }
            else
            {
                reasons[reason] = reasons.GetValueOrDefault(reason) + 1;
            }
        }

        if (fits.Count > 0)
        {
            var best = fits.OrderBy(n => n.Pods).ThenBy(n => n.Name, StringComparer.Ordinal).First();
            return new SchedulingResult(best.Name, $"Successfully assigned to {best.Name}");
        }

        // As the scheduler's FitError: "0/2 nodes are available: 1 node(s) had untolerated taint {...}, 1 node(s) ...".
        var detail = string.Join(", ", reasons.Select(r => $"{r.Value} {r.Key}"));
        var message = nodes.Count == 0
            ? "no nodes available to schedule pods"
            : $"0/{nodes.Count} nodes are available: {detail}. preemption: 0/{nodes.Count} nodes are available: {nodes.Count} Preemption is not helpful for scheduling.";
        return new SchedulingResult(null, message);
    }

    private static string? Reject(NodeCandidate node, IReadOnlyList<Toleration> tolerations, IReadOnlyDictionary<string, string>? nodeSelector)
    {
        if (node.Deleting)
        {
            return "node(s) were being deleted";
        }

        if (node.Unschedulable)
        {
            return "node(s) were unschedulable";
        }

        var untolerated = node.Taints.FirstOrDefault(t => t.Effect is Taint.NoSchedule or Taint.NoExecute && !tolerations.Any(tol => tol.Tolerates(t)));
        if (untolerated is not null)
        {
            return $"node(s) had untolerated taint {untolerated}";
        }

        if (!node.Ready)
        {
            return "node(s) were not ready";
        }

        if (nodeSelector is not null && nodeSelector.Any(s => node.Labels.GetValueOrDefault(s.Key) != s.Value))
        {
            return "node(s) didn't match Pod's node affinity/selector";
        }

        return null;
    }
}
