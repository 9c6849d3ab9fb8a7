using K8sTraining.Operator.Api;
using k8s.Models;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>
/// The node-loss hook of the decider (issue 12): with <see cref="NodeLoss"/>'s verdict on the live attempt's pod, wait
/// (NodeLost says why), replace it under the Replace policy, announce the replacement, and close the loss once over.
/// </summary>
internal static class NodeLossSteps
{
    /// <summary>Under either policy, while the current attempt's pod sits on a lost Node: say so, and look again.</summary>
    internal static void WaitForLostNode(this DecisionDraft d, V1Pod pod, NodeLossVerdict loss)
    {
        d.Status.ActivePod = pod.Metadata.Name;
        d.Status.NodeLoss = NodeLoss.Record(loss, pod, d.Status.Attempt);
        d.SetPhase(JobPhases.Restarting, loss.ConditionReason, loss.Message);
        if (Conditions.Set(d.ConditionList, ConditionTypes.NodeLost, true, loss.ConditionReason, loss.Message, d.Generation, d.Now))
        {
            d.Events.Add(JobEvent.Warning(EventReasons.NodeLost, $"Attempt {d.Status.Attempt}: {loss.Message}"));
        }

        if (loss.RecheckAfter is { } after)
        {
            d.Requeue(after);
        }
    }

    /// <summary>
    /// The Replace policy acts: the attempt on the lost Node ends as a preemption (once) while its pod is left alone,
    /// and the run goes on to the next attempt.
    /// </summary>
    internal static void ReplaceLostAttempt(this DecisionDraft d, V1Pod pod, NodeLossVerdict loss)
    {
        d.Status.NodeLoss = NodeLoss.Record(loss, pod, d.Status.Attempt);
        Conditions.Set(d.ConditionList, ConditionTypes.NodeLost, true, loss.ConditionReason, loss.Message, d.Generation, d.Now);
        if (d.Status.LastTermination?.Attempt == d.Status.Attempt)
        {
            // Recorded before (a refused create is being retried): never counted twice.
            return;
        }

        var message = $"pod {pod.Metadata.Name} is on a lost node ({loss.Sign.Description} since {NodeLoss.Time(loss.Since)}) and was replaced under nodeLossPolicy Replace after {d.Spec.EffectiveNodeLossReplaceAfterSeconds}s; it may still run, and checkpoint fencing refuses its commits";
        d.Record(new PodOutcome(AttemptOutcomes.Preempted, ConditionReasons.NodeLost, null, message, null), pod.Metadata.Name);
    }

    /// <summary>The replacement of an attempt lost with its Node was just created: one Event naming the checkpoint and the policy.</summary>
    internal static void NodeLossReplaced(this DecisionDraft d, string pod)
    {
        if (d.Status.NodeLoss is not { ReplacedAt: null } loss || loss.Attempt >= d.Status.Attempt)
        {
            return;
        }

        loss.ReplacedAt = d.Now.UtcDateTime;
        var since = loss.Since is { } s ? new DateTimeOffset(DateTime.SpecifyKind(s, DateTimeKind.Utc)) : d.Now;
        var how = loss.Policy == NodeLossPolicies.Replace
            ? $"nodeLossPolicy Replace acted after {NodeLoss.Seconds(d.Now - since)}s while pod {loss.Pod} may still exist on node {loss.Node}"
            : $"nodeLossPolicy Wait: pod {loss.Pod} on node {loss.Node} is gone";
        var message = $"attempt {d.Status.Attempt} (pod {pod}) replaces attempt {loss.Attempt} lost with node {loss.Node} ({loss.Reason} since {NodeLoss.Time(since)}); {how}; {d.ResumeText()}";
        Conditions.Set(d.ConditionList, ConditionTypes.NodeLost, true, loss.Policy == NodeLossPolicies.Replace ? ConditionReasons.ReplacedUnderReplacePolicy : ConditionReasons.Replacing, $"{message}; waiting for it to run", d.Generation, d.Now);
        d.Events.Add(JobEvent.Normal(EventReasons.NodeLossReplacement, $"Created pod {pod} for attempt {d.Status.Attempt} to replace attempt {loss.Attempt} lost with node {loss.Node}; {how}; {d.ResumeText()}"));
    }

    /// <summary>The current attempt's pod is on a healthy Node: a loss recorded before is over once it runs (or its Node came back).</summary>
    internal static void NodeLossOver(this DecisionDraft d, V1Pod pod, PodState state)
    {
        if (d.Status.NodeLoss is not { } loss)
        {
            return;
        }

        var since = loss.Since is { } s ? new DateTimeOffset(DateTime.SpecifyKind(s, DateTimeKind.Utc)) : d.Now;
        if (loss.Attempt == d.Status.Attempt)
        {
            // The same pod, and its Node is no longer lost: the Node came back in time.
            d.Status.NodeLoss = null;
            var message = $"node {loss.Node} recovered after {NodeLoss.Seconds(d.Now - since)}s; pod {pod.Metadata.Name} was not replaced";
            Conditions.Set(d.ConditionList, ConditionTypes.NodeLost, false, ConditionReasons.NodeRecovered, message, d.Generation, d.Now);
            d.Events.Add(JobEvent.Normal(EventReasons.NodeRecovered, $"Attempt {d.Status.Attempt}: {message}"));
            return;
        }

        if (state == PodState.Running)
        {
            d.Status.NodeLoss = null;
            Conditions.Set(d.ConditionList, ConditionTypes.NodeLost, false, ConditionReasons.ReplacementRunning,
                $"pod {pod.Metadata.Name} (attempt {d.Status.Attempt}) runs {NodeLoss.Seconds(d.Now - since)}s after node {loss.Node} was lost ({loss.Reason}); nodeLossPolicy {loss.Policy}", d.Generation, d.Now);
        }
    }
}
