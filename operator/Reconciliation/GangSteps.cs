using System.Globalization;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Pods;
using k8s.Models;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>
/// The gang hooks of the decider (issue 18). One worker disrupted, failed or gone ends the whole attempt: the others are
/// deleted with their grace period (they checkpoint), and the attempt counts once (<see cref="GangAttempt.Outcome"/>).
/// Workers not all Running within spec.gang.startTimeoutSeconds: the attempt is torn down and retried with backoff, not
/// a failure. The next attempt is created only once every pod of the earlier ones is gone from the API, so two
/// attempts never overlap and no more pods than spec.workers ever exist.
/// </summary>
internal static class GangSteps
{
    /// <summary>
    /// A live gang attempt that is broken, or past its start timeout: record why (once), delete the live workers, and
    /// wait for all of them to end. True when the attempt is being torn down (nothing else is to be done now).
    /// </summary>
    internal static bool TearDownIfBroken(this DecisionDraft d, GangAttempt gang)
    {
        var record = d.Status.CurrentAttempt is { } a && a.Attempt == gang.Attempt ? a : null;
        var teardown = record?.Teardown;
        var operatorStop = d.InProgress() || d.Spec.IsSuspended || d.Status.Phase == JobPhases.Suspended;
        if (teardown is null && !operatorStop)
        {
            if (gang.Break() is { } broken)
            {
                teardown = new GangTeardownRecord { Worker = broken.Worker, Outcome = AttemptOutcomes.Preempted, Reason = broken.Reason, Message = $"{broken.Message}; the whole gang of attempt {gang.Attempt} is replaced", Time = d.Now.UtcDateTime };
            }
            else if (d.StartTimedOut(gang, record) is { } timedOut)
            {
                teardown = timedOut;
            }

            if (teardown is not null)
            {
                if (record is not null)
                {
                    record.Teardown = teardown;
                }

                var alive = gang.Alive.Count();
                d.Events.Add(teardown.Outcome == AttemptOutcomes.GangStartTimeout
                    ? JobEvent.Warning(EventReasons.GangStartTimeout, $"Attempt {gang.Attempt}: {teardown.Message}")
                    : JobEvent.Warning(EventReasons.GangTeardown, $"Attempt {gang.Attempt}: {teardown.Message}; deleting the {alive} live worker(s) gracefully so they checkpoint"));
            }
        }

        if (teardown is null)
        {
            // Nothing broke (a worker that completed leaves its peers to finish), or the operator stops the gang itself
            // (suspend, a live edit): those deletes are widened to every worker, and the attempt ends as they say.
            return false;
        }

        foreach (var pod in gang.Alive)
        {
            d.Actions.Add(new DeletePod(pod.Metadata.Name, teardown.Message ?? "another worker of its attempt ended"));
        }

        var reason = teardown.Outcome == AttemptOutcomes.GangStartTimeout ? ConditionReasons.GangStartTimeout : ConditionReasons.GangTeardown;
        d.Status.ActivePod = gang.Lead.Metadata.Name;
        d.SetPhase(JobPhases.Restarting, reason, $"{teardown.Message}; waiting for all {gang.Pods.Count} worker pod(s) of attempt {gang.Attempt} to stop");
        return true;
    }

    /// <summary>The start timeout's teardown when not every worker runs spec.gang.startTimeoutSeconds after the attempt's creation; else requeue at that time.</summary>
    private static GangTeardownRecord? StartTimedOut(this DecisionDraft d, GangAttempt gang, AttemptRecord? record)
    {
        if (gang.State != PodState.Pending || record?.StartTime is not { } started)
        {
            return null;
        }

        var timeout = TimeSpan.FromSeconds(d.Spec.EffectiveGangStartTimeoutSeconds);
        var due = new DateTimeOffset(DateTime.SpecifyKind(started, DateTimeKind.Utc)) + timeout;
        if (d.Now < due)
        {
            d.Requeue(due - d.Now);
            return null;
        }

        var pending = gang.Pods.Where(p => PodClassifier.StateOf(p) != PodState.Running).Select(p => p.Metadata.Name).ToList();
        var seconds = d.Spec.EffectiveGangStartTimeoutSeconds.ToString(CultureInfo.InvariantCulture);
        return new GangTeardownRecord
        {
            Outcome = AttemptOutcomes.GangStartTimeout,
            Reason = ConditionReasons.GangStartTimeout,
            Message = $"{gang.Running} of {gang.Workers} workers were Running {seconds}s after attempt {gang.Attempt} was created (spec.gang.startTimeoutSeconds; not running: {string.Join(", ", pending)}): tearing the gang down so it holds no nodes half-started, and retrying with backoff",
            Time = d.Now.UtcDateTime,
        };
    }

    /// <summary>
    /// Before the next attempt of a multi-worker job (or after one): every pod of the earlier attempts must be gone, not
    /// just ended, so that no poll ever sees more pods than workers. Ended ones are deleted (their end is in the status).
    /// True while some are still there.
    /// </summary>
    internal static bool WaitForEarlierPodsToGo(this DecisionDraft d, IReadOnlyList<V1Pod> pods)
    {
        if (d.Spec.EffectiveWorkers <= 1 && !pods.Any(GangAttempt.IsGangPod))
        {
            return false;
        }

        var left = pods.Where(p => !NodeLoss.Abandoned(d.Job, d.Status, p, d.Nodes, d.Now)).ToList();
        if (left.Count == 0)
        {
            return false;
        }

        foreach (var pod in left.Where(p => p.Metadata.DeletionTimestamp is null))
        {
            d.Actions.Add(new DeletePod(pod.Metadata.Name, "its attempt has ended; the next attempt starts once every earlier pod is gone"));
        }

        // The phase and the Running condition's reason stay (Preempted, BackingOff...): only what is awaited is added.
        var reason = Conditions.Find(d.Status.Conditions, ConditionTypes.Running)?.Reason ?? ConditionReasons.PodTerminating;
        d.SetPhase(d.Status.Phase ?? JobPhases.Pending, reason, $"waiting for {left.Count} pod(s) of earlier attempts to be gone ({string.Join(", ", left.Select(p => p.Metadata.Name))}) before attempt {d.Status.Attempt + 1}");
        return true;
    }

    /// <summary>status.workers and status.workersReady: the current attempt's running workers out of its workers.</summary>
    internal static void CountWorkers(this DecisionDraft d, IReadOnlyList<V1Pod> pods)
    {
        var gang = GangAttempt.Of(pods, d.Status.Attempt);
        var current = pods.Where(p => PodClassifier.AttemptOf(p) == d.Status.Attempt).ToList();
        var total = gang?.Workers ?? (d.Status.Attempt == 0 || current.Count == 0 ? d.Spec.EffectiveWorkers : 1);
        var ready = JobPhases.IsTerminal(d.Status.Phase) ? 0 : current.Count(p => PodClassifier.StateOf(p) == PodState.Running);
        d.Status.Workers = new WorkersStatus { Ready = ready, Total = total };
        d.Status.WorkersReady = $"{ready.ToString(CultureInfo.InvariantCulture)}/{total.ToString(CultureInfo.InvariantCulture)}";
    }

    /// <summary>
    /// A delete of one worker of a gang is a delete of its gang: the decision's deletes (suspend, reconfigure, the end of
    /// the job) are widened to every live worker of the same attempt.
    /// </summary>
    internal static void WidenDeletesToGangs(List<JobAction> actions, IReadOnlyList<V1Pod> pods)
    {
        var named = actions.OfType<DeletePod>().Select(a => a.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var delete in actions.OfType<DeletePod>().ToList())
        {
            var pod = pods.FirstOrDefault(p => p.Metadata.Name == delete.Name);
            if (pod is null || !GangAttempt.IsGangPod(pod))
            {
                continue;
            }

            var attempt = PodClassifier.AttemptOf(pod);
            foreach (var sibling in pods.Where(p => PodClassifier.AttemptOf(p) == attempt && GangAttempt.IsGangPod(p) && PodClassifier.StateOf(p) is PodState.Pending or PodState.Running))
            {
                if (named.Add(sibling.Metadata.Name))
                {
                    actions.Add(new DeletePod(sibling.Metadata.Name, delete.Why));
                }
            }
        }
    }
}
