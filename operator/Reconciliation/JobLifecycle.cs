using K8sTraining.Operator.Api;
using k8s.Models;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>What the user asks of a job beyond one attempt: suspend and resume, revive, the active deadline, and the end (ttl).</summary>
internal static class JobLifecycle
{
    internal static void Revive(this DecisionDraft d, string why)
    {
        d.Status.Phase = JobPhases.Restarting;
        d.Status.CompletionTime = null;
        d.Status.NextAttemptTime = null;
        Conditions.Set(d.ConditionList, ConditionTypes.Failed, false, ConditionReasons.SpecChanged, $"running again: {why}", d.Generation, d.Now);
        if (Conditions.IsTrue(d.Status.Conditions, ConditionTypes.Succeeded))
        {
            Conditions.Set(d.ConditionList, ConditionTypes.Succeeded, false, ConditionReasons.SpecChanged, $"running again: {why}", d.Generation, d.Now);
        }

        if (Conditions.IsTrue(d.Status.Conditions, ConditionTypes.CheckpointPrefixInUse))
        {
            Conditions.Set(d.ConditionList, ConditionTypes.CheckpointPrefixInUse, false, ConditionReasons.SpecChanged, "the spec changed; the next attempt checks the prefix again", d.Generation, d.Now);
        }

        d.Events.Add(JobEvent.Normal(EventReasons.Revived, $"The job runs again: {why}"));
    }

    /// <param name="state">The attempt's state (a gang's as a whole); <paramref name="current"/>'s own when null.</param>
    internal static void Suspend(this DecisionDraft d, V1Pod? current, PodState? state = null)
    {
        state ??= current is null ? PodState.Ended : PodClassifier.StateOf(current);
        if (state is PodState.Terminating && current?.Metadata.DeletionTimestamp is null && current is not null)
        {
            // A gang partly stopped: its live workers are deleted too (the delete of worker 0 is widened to them).
            d.Actions.Add(new DeletePod(current.Metadata.Name, "the job is suspended"));
        }

        if (state is PodState.Pending or PodState.Running)
        {
            d.Actions.Add(new DeletePod(current!.Metadata.Name, "the job is suspended"));
        }

        var stopping = state != PodState.Ended;
        var message = stopping
            ? $"suspended; waiting for pod {current!.Metadata.Name} to checkpoint and stop"
            : $"suspended; {d.ResumeText()} when resumed";
        var transition = d.Status.Phase != JobPhases.Suspended;
        d.SetPhase(JobPhases.Suspended, ConditionReasons.SuspendedByUser, message);
        if (transition)
        {
            d.Events.Add(JobEvent.Normal(EventReasons.Suspended, stopping ? $"Job suspended; deleting pod {current!.Metadata.Name} gracefully so the trainer checkpoints" : "Job suspended"));
        }
    }

    internal static void Resume(this DecisionDraft d)
    {
        Conditions.Set(d.ConditionList, ConditionTypes.Suspended, false, ConditionReasons.Resumed, "the job was resumed", d.Generation, d.Now);
        d.Status.Phase = JobPhases.Pending;

        // As for batch/v1 Jobs, the activeDeadlineSeconds clock restarts on resume.
        d.Status.StartTime = d.Now.UtcDateTime;
        d.Events.Add(JobEvent.Normal(EventReasons.Resumed, $"Job resumed; {d.ResumeText()}"));
    }

    internal static bool CheckDeadline(this DecisionDraft d, List<V1Pod> pods)
    {
        if (d.Spec.ActiveDeadlineSeconds is not { } seconds || d.Status.StartTime is not { } start)
        {
            return false;
        }

        var deadline = AttemptDeadline.Of(d.Spec, start)!.Value;
        if (d.Now < deadline)
        {
            d.Requeue(deadline - d.Now);
            return false;
        }

        d.Fail(ConditionReasons.DeadlineExceeded, $"activeDeadlineSeconds ({seconds}s) exceeded");
        d.Finish(pods);
        return true;
    }

    internal static void Finish(this DecisionDraft d, List<V1Pod> pods)
    {
        foreach (var pod in pods.Where(p => PodClassifier.StateOf(p) is PodState.Pending or PodState.Running))
        {
            d.Actions.Add(new DeletePod(pod.Metadata.Name, $"the job is {d.Status.Phase}"));
        }

        if (d.Spec.TtlSecondsAfterFinished is { } ttl && d.Status.CompletionTime is { } done)
        {
            var expiry = new DateTimeOffset(DateTime.SpecifyKind(done, DateTimeKind.Utc)).AddSeconds(ttl);
            if (d.Now >= expiry)
            {
                d.Actions.Add(new DeleteJob());
                d.Events.Add(JobEvent.Normal(EventReasons.TtlExpired, $"Deleting the job: ttlSecondsAfterFinished ({ttl}s) has passed"));
            }
            else
            {
                d.Requeue(expiry - d.Now);
            }
        }
    }
}
