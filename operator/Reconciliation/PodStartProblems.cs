using k8s.Models;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>Why a created pod is not starting, as the kubelet or the scheduler says it (what users run describe for).</summary>
public sealed record PodStartProblem(string Reason, string Message)
{
    /// <summary>Reasons that alternate while one problem lasts (ErrImagePull, then ImagePullBackOff) count as one.</summary>
    public string Family => FamilyOf(Reason);

    public static string FamilyOf(string? reason) => reason is "ErrImagePull" or "ImagePullBackOff" ? "ImagePull" : reason ?? "";
}

/// <summary>Pure reading of a pending pod: a container waiting for a reason other than being created, or unschedulable.</summary>
public static class PodStartProblems
{
    /// <summary>Waiting reasons of a container that is on its way (not a problem).</summary>
    private static readonly IReadOnlySet<string> Starting = new HashSet<string>(StringComparer.Ordinal) { "ContainerCreating", "PodInitializing" };

    public static PodStartProblem? Of(V1Pod pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        var waiting = PodClassifier.TrainerStatus(pod)?.State?.Waiting;
        if (waiting?.Reason is { Length: > 0 } reason && !Starting.Contains(reason))
        {
            return new PodStartProblem(reason, string.IsNullOrWhiteSpace(waiting.Message) ? reason : waiting.Message.Trim());
        }

        // An init container or sidecar that cannot start (the checkpoint-sync image not pullable, a missing Secret)
        // holds the trainer in PodInitializing: say which, and why.
        var init = pod.Status?.InitContainerStatuses?.FirstOrDefault(c => c.State?.Waiting?.Reason is { Length: > 0 } r && !Starting.Contains(r));
        if (init?.State.Waiting is { } held)
        {
            return new PodStartProblem(held.Reason, $"init container {init.Name}: {(string.IsNullOrWhiteSpace(held.Message) ? held.Reason : held.Message.Trim())}");
        }

        var scheduled = pod.Status?.Conditions?.FirstOrDefault(c => c.Type == "PodScheduled");
        if (scheduled is { Status: "False", Reason: "Unschedulable" })
        {
            return new PodStartProblem("Unschedulable", string.IsNullOrWhiteSpace(scheduled.Message) ? "no node fits the pod" : scheduled.Message.Trim());
        }

        return null;
    }
}
