using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using k8s.Models;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>Compute the status of the live attempt: phase and Running condition from its pod, progress and checkpoints from its trainer's report.</summary>
internal static class AttemptStatus
{
    internal static void Observe(this DecisionDraft d, V1Pod pod, PodState state)
    {
        d.Status.ActivePod = pod.Metadata.Name;
        switch (state)
        {
            case PodState.Running:
                if (d.Status.Phase != JobPhases.Running)
                {
                    d.Events.Add(JobEvent.Normal(EventReasons.AttemptRunning, $"Attempt {d.Status.Attempt} is running in pod {pod.Metadata.Name}"));
                }

                d.SetPhase(JobPhases.Running, ConditionReasons.PodRunning, $"attempt {d.Status.Attempt} is running in pod {pod.Metadata.Name}");
                d.ApplyReport(pod);
                break;
            case PodState.Terminating:
                d.SetPhase(d.Status.Phase!, ConditionReasons.PodTerminating, $"pod {pod.Metadata.Name} is terminating; the trainer is checkpointing");
                break;
            case PodState.Finishing:
                // The trainer exited, a sidecar still runs (a checkpoint-sync sidecar uploads the last checkpoint):
                // its committed position may still move, and the attempt ends with the pod.
                d.SetPhase(d.Status.Phase!, ConditionReasons.PodTerminating, $"the trainer in pod {pod.Metadata.Name} exited; waiting for its sidecars to stop before attempt {d.Status.Attempt} ends");
                d.ApplyReport(pod);
                break;
            default:
                var phase = d.Status.Phase == JobPhases.Restarting ? JobPhases.Restarting : JobPhases.Pending;
                if (PodStartProblems.Of(pod) is { } problem)
                {
                    // What `kubectl describe pod` would say, on the job; one Event per problem, not per reconcile.
                    var before = Conditions.Find(d.Status.Conditions, ConditionTypes.Running)?.Reason;
                    d.SetPhase(phase, problem.Reason, $"pod {pod.Metadata.Name} (attempt {d.Status.Attempt}) cannot start: {problem.Message}");
                    if (PodStartProblem.FamilyOf(before) != problem.Family)
                    {
                        d.Events.Add(JobEvent.Warning(EventReasons.PodNotStarting, $"Pod {pod.Metadata.Name} cannot start ({problem.Reason}): {problem.Message}"));
                    }

                    break;
                }

                d.SetPhase(phase, ConditionReasons.PodPending, $"pod {pod.Metadata.Name} (attempt {d.Status.Attempt}) is pending");
                break;
        }
    }

    /// <summary>
    /// The running trainer's own report: its position becomes the progress, and a newer committed checkpoint
    /// becomes the last checkpoint (and, with a remote store, where a replacement resumes) before the attempt ends,
    /// so even a pod that dies without a termination message (node lost) leaves a truthful resume point.
    /// </summary>
    private static void ApplyReport(this DecisionDraft d, V1Pod pod)
    {
        if (d.Report is null || d.Report.Pod != pod.Metadata.Name)
        {
            return;
        }

        var p = d.Report.Position;
        d.Status.Progress = new TrainingProgress { GlobalStep = p.GlobalStep, Epoch = p.Epoch, StepInEpoch = p.StepInEpoch };
        var uri = d.Spec.Checkpoint?.Uri;
        var root = string.IsNullOrEmpty(uri) ? WellKnown.CheckpointDirectory : uri;
        CheckpointRecord At(TrainingPosition c) => new()
        {
            GlobalStep = c.GlobalStep,
            Epoch = c.Epoch,
            StepInEpoch = c.StepInEpoch,
            Location = CheckpointLayout.Location(root, c.GlobalStep),
            Uploaded = true,
            Time = d.Now.UtcDateTime,
        };

        d.Status.Best = BestStatus.FromRunning(d.Status.Best, d.Report.Best, root);
        if (d.Report.Stage is { } stage)
        {
            d.Status.Stage = new StageStatus { Name = stage.Name, Index = stage.Index, Total = d.Spec.Stages?.Count ?? stage.Index + 1 };
        }

        if (d.Report.ResumedFrom is not null || p.GlobalStep > 0)
        {
            d.StorageReachable($"attempt {d.Status.Attempt} got past its start-up");
        }

        // Where this attempt really resumed corrects the resume point taken from the previous attempt's last
        // report (which may lag a checkpoint behind, or name one the trainer found unusable).
        if (d.Report.ResumedFrom is { } r && !string.IsNullOrEmpty(uri) && (d.Report.Checkpoint is null || d.Report.Checkpoint.GlobalStep <= r.GlobalStep))
        {
            if (r.GlobalStep == 0)
            {
                d.Status.ResumeFrom = null;
            }
            else if (d.Status.ResumeFrom?.GlobalStep != r.GlobalStep)
            {
                d.Status.ResumeFrom = At(r);
                if ((d.Status.LastCheckpoint?.GlobalStep ?? -1) < r.GlobalStep)
                {
                    d.Status.LastCheckpoint = At(r);
                }
            }
        }

        if (d.Report.Checkpoint is not { } c || c.GlobalStep <= (d.Status.LastCheckpoint?.GlobalStep ?? -1))
        {
            return;
        }

        var record = At(c);
        d.Status.LastCheckpoint = record;
        if (!string.IsNullOrEmpty(uri))
        {
            d.Status.ResumeFrom = DecisionDraft.Clone(record);
        }
    }

    internal static void StorageReachable(this DecisionDraft d, string why)
    {
        if (Conditions.Find(d.Status.Conditions, ConditionTypes.StorageAvailable) is { Status: "False" })
        {
            Conditions.Set(d.ConditionList, ConditionTypes.StorageAvailable, true, ConditionReasons.StorageReachable, why, d.Generation, d.Now);
            d.Events.Add(JobEvent.Normal(EventReasons.StorageAvailable, $"The checkpoint store is reachable again: {why}"));
        }

        d.Status.StorageRetries = 0;
    }
}
