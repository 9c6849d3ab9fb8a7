using K8sTraining.Operator.Api;
using k8s;
using k8s.Models;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>
/// The whole policy of the operator as one pure function of (job, its observed pods, now): which pod should exist,
/// how an ended attempt counts (preemption, failure, success), the new status, the Events and when to look again.
/// The pieces: <see cref="NextAction"/> (the order of looking, and the next attempt), <see cref="AttemptEnd"/> (classify
/// and count an ended attempt), <see cref="AttemptStatus"/> (the status of the live attempt), <see cref="JobLifecycle"/>
/// (suspend, resume, revive, deadline, ttl) and <see cref="NodeLossSteps"/> (a pod on a lost Node).
/// </summary>
public static class TrainingJobDecider
{
    private static readonly IReadOnlyDictionary<string, V1Node?> NoNodes = new Dictionary<string, V1Node?>();

    /// <param name="report">What the running attempt's trainer said about itself, when the shell could ask it.</param>
    /// <param name="nodes">The Nodes of the job's pods by name (null: known to be deleted); a missing name is unknown.</param>
    /// <param name="init">spec.initFrom.trainingJob resolved against the cache (<see cref="InitSource.Resolve"/>); null when the spec names none.</param>
    public static Decision Decide(TrainingJob job, IReadOnlyList<V1Pod> pods, DateTimeOffset now, TrainerReport? report = null, IReadOnlyDictionary<string, V1Node?>? nodes = null, InitSource? init = null)
    {
        var draft = new DecisionDraft(job, Clone(job.Status) ?? new TrainingJobStatus(), now, report, nodes ?? NoNodes, init);
        draft.Run(pods);
        if (job.Metadata.DeletionTimestamp is null)
        {
            draft.CountWorkers(pods);
        }

        GangSteps.WidenDeletesToGangs(draft.Actions, pods);
        return new Decision(draft.Status, draft.Actions, draft.Events, draft.RequeueAfter, DisruptionSeen.Of(job, pods));
    }

    /// <summary>
    /// The ended pods to let go among those named for a job (<see cref="EarlierJobPods.Release"/>): all of a gone job
    /// (<paramref name="job"/> null), else an earlier same-named job's, so their names free up.
    /// </summary>
    public static IReadOnlyList<ReleasePod> ReleaseOrphans(TrainingJob? job, IReadOnlyList<V1Pod> named) => EarlierJobPods.Release(job, named);

    /// <summary>A create found <paramref name="holder"/> with the pod's name: null to adopt it (the job's own), else wait for it (<see cref="EarlierJobPods.NameHeld"/>).</summary>
    public static PodNameHeld? NameHeld(TrainingJob job, V1Pod holder) => EarlierJobPods.NameHeld(job, holder);

    public static TimeSpan BackoffFor(TrainingJobSpec spec, int restarts)
    {
        var initial = Math.Max(0, spec.RestartBackoffSeconds ?? 10);
        var max = Math.Max(0, spec.MaxRestartBackoffSeconds ?? 300);
        var seconds = Math.Min(max, initial * Math.Pow(2, Math.Max(0, restarts - 1)));
        return TimeSpan.FromSeconds(seconds);
    }

    public static TrainingJobStatus? Clone(TrainingJobStatus? status) =>
        status is null ? null : KubernetesJson.Deserialize<TrainingJobStatus>(KubernetesJson.Serialize(status));

    /// <summary>True when two statuses serialize the same (the reconciler writes status only when this is false).</summary>
    public static bool SameStatus(TrainingJobStatus? a, TrainingJobStatus? b) =>
        a is null || b is null ? ReferenceEquals(a, b) : KubernetesJson.Serialize(a) == KubernetesJson.Serialize(b);
}
