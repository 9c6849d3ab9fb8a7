using K8sTraining.Operator.Api;
using k8s.Models;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>
/// What a job's pods show about disruption, for the recovery time: the job's current attempt (as read) when one of its
/// pods is disrupted (DisruptionTarget, terminating, or ended as a preemption), and the newest attempt whose pod runs.
/// </summary>
public sealed record DisruptionSeen(int? DisruptedAttempt, int? NewestRunningAttempt)
{
    public static readonly DisruptionSeen None = new(null, null);

    public static DisruptionSeen Of(TrainingJob job, IReadOnlyList<V1Pod> pods)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(pods);
        var current = job.Status?.Attempt;
        var disrupted = pods.Any(p => PodClassifier.AttemptOf(p) is { } attempt && attempt == current && IsDisrupted(p)) ? current : null;
        var running = pods.Where(p => PodClassifier.StateOf(p) == PodState.Running).Select(PodClassifier.AttemptOf).Max();
        return new DisruptionSeen(disrupted, running);
    }

    private static bool IsDisrupted(V1Pod pod)
    {
        if (pod.Status?.Conditions?.Any(c => c.Type == WellKnown.DisruptionTarget && c.Status == "True") == true)
        {
            return true;
        }

        return PodClassifier.StateOf(pod) switch
        {
            PodState.Terminating => true,
            PodState.Ended or PodState.Finishing => PodClassifier.Classify(pod).IsPreemption,
            _ => false,
        };
    }
}
