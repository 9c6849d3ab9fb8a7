using K8sTraining.Operator.Api;
using k8s.Models;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>What a pod's name still held by an older job asks of the reconciler: delete the ended holder or not, then look again after <see cref="LookAgainAfter"/>.</summary>
public sealed record PodNameHeld(bool DeleteHolder, TimeSpan LookAgainAfter);

/// <summary>
/// Pods named for a job that are not its own: left by a job that is gone, or by an earlier TrainingJob of the same
/// name (a pod's name is the job's name and the attempt, so such a pod can hold the name the job needs next).
/// </summary>
public static class EarlierJobPods
{
    /// <summary>How soon a job waiting for an earlier job's pod to give up its name looks again.</summary>
    public static readonly TimeSpan NameRecheck = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The ended pods among <paramref name="named"/> (pods whose controlling owner is a TrainingJob of this name) to let
    /// go: all of them when the job is gone (<paramref name="job"/> null; garbage collection deletes the pods), else
    /// those of an earlier job of the same name, so that their names free up.
    /// </summary>
    public static IReadOnlyList<ReleasePod> Release(TrainingJob? job, IReadOnlyList<V1Pod> named)
    {
        ArgumentNullException.ThrowIfNull(named);
        return named
            .Where(p => (job is null || !IsOwnedBy(p, job)) && PodClassifier.StateOf(p) == PodState.Ended && HasFinalizer(p))
            .Select(p => new ReleasePod(p.Metadata.Name))
            .ToList();
    }

    /// <summary>
    /// Creating the job's next pod found <paramref name="holder"/> with its name: null when it is the job's own (a pod
    /// created before a crash: adopt it); else the name is still held by an earlier job's pod, and the job waits until
    /// it is gone, deleting it when it has ended and nobody deletes it yet.
    /// </summary>
    public static PodNameHeld? NameHeld(TrainingJob job, V1Pod holder)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(holder);
        if (IsOwnedBy(holder, job))
        {
            return null;
        }

        return new PodNameHeld(holder.Metadata.DeletionTimestamp is null && PodClassifier.StateOf(holder) == PodState.Ended, NameRecheck);
    }

    public static bool IsOwnedBy(V1Pod pod, TrainingJob job) =>
        pod.Metadata.OwnerReferences?.Any(o => o.Controller == true && o.Uid == job.Metadata.Uid) == true;

    private static bool HasFinalizer(V1Pod pod) => pod.Metadata.Finalizers?.Contains(WellKnown.TrackingFinalizer) == true;
}
