using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Pods;
using k8s.Models;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>
/// Classify the ended attempt and count it: a preemption (replaced at once), a failure (retried with backoff against
/// maxRestarts), a success, a configuration error, storage trouble; and what its termination message says about
/// progress and checkpoints.
/// </summary>
internal static class AttemptEnd
{
    /// <param name="gang">The attempt's workers when it has several: it ends when all have, and counts once.</param>
    internal static void AccountForEndOfAttempt(this DecisionDraft d, V1Pod? current, GangAttempt? gang = null)
    {
        if (d.Status.Attempt == 0 || d.Status.LastTermination?.Attempt == d.Status.Attempt)
        {
            return;
        }

        PodOutcome outcome;
        if (gang is not null)
        {
            if (gang.State != PodState.Ended)
            {
                return;
            }

            var teardown = d.Status.CurrentAttempt is { } a && a.Attempt == gang.Attempt ? a.Teardown : null;
            outcome = gang.Outcome(teardown);
            foreach (var pod in gang.Pods.Where(DecisionDraft.HasFinalizer))
            {
                d.Actions.Add(new ReleasePod(pod.Metadata.Name));
            }
        }
        else if (current is null)
        {
            // Our finalizer should make this impossible; someone removed it, so the end was not observed.
            var name = d.Status.ActivePod ?? PodNames.ForAttempt(d.Name, d.Status.Attempt);
            outcome = new PodOutcome(AttemptOutcomes.Preempted, "PodDeleted", null, $"pod {name} disappeared before its end was observed", null);
        }
        else if (PodClassifier.StateOf(current) == PodState.Ended)
        {
            outcome = PodClassifier.Classify(current);
            if (DecisionDraft.HasFinalizer(current))
            {
                d.Actions.Add(new ReleasePod(current.Metadata.Name));
            }
        }
        else
        {
            return;
        }

        d.Record(outcome, current?.Metadata.Name ?? d.Status.ActivePod, current);
    }

    internal static void Record(this DecisionDraft d, PodOutcome outcome, string? podName, V1Pod? pod = null)
    {
        var result = outcome.Outcome;
        if (JobPhases.IsTerminal(d.Status.Phase))
        {
            result = result == AttemptOutcomes.Succeeded ? result : AttemptOutcomes.Stopped;
        }
        else if ((d.Spec.IsSuspended || d.Status.Phase == JobPhases.Suspended) && outcome.IsPreemption)
        {
            result = AttemptOutcomes.Suspended;
        }
        else if (d.InProgress() && result != AttemptOutcomes.Succeeded)
        {
            // The operator stopped it for a live edit: however the trainer ended, it is neither a failure nor a preemption.
            result = AttemptOutcomes.Reconfigured;
        }
        else if (result == AttemptOutcomes.DeadlineExceeded && DeadlineRaised(d, pod))
        {
            // The trainer stopped at the deadline it was given, but activeDeadlineSeconds has been raised since.
            result = AttemptOutcomes.Reconfigured;
        }

        d.Status.LastTermination = new TerminationRecord
        {
            Attempt = d.Status.Attempt,
            Pod = podName,
            Outcome = result,
            Reason = outcome.Reason,
            ExitCode = outcome.ExitCode,
            Message = outcome.Message,
            Time = d.Now.UtcDateTime,
            ObservedGeneration = d.Status.CurrentAttempt is { } a && a.Attempt == d.Status.Attempt ? a.ObservedGeneration : null,
        };
        d.Status.ActivePod = null;
        d.ApplyTermination(SidecarCheckpoint.Merge(outcome.Termination, outcome.SyncTermination), SidecarCheckpoint.CheckpointSource(outcome.Termination, outcome.SyncTermination));
        if (result is AttemptOutcomes.Succeeded or AttemptOutcomes.Preempted or AttemptOutcomes.Failed && outcome.Termination is not null)
        {
            d.StorageReachable("an attempt ran past its start-up");
        }

        if (JobPhases.IsTerminal(d.Status.Phase))
        {
            return;
        }

        switch (result)
        {
            case AttemptOutcomes.Succeeded:
                d.Status.CompletionTime = d.Now.UtcDateTime;
                d.SetPhase(JobPhases.Succeeded, ConditionReasons.Completed, $"training completed after {d.Status.Attempt} attempt(s){d.AccuracyText()}");
                d.Events.Add(JobEvent.Normal(EventReasons.Succeeded, $"Training completed at global step {d.Status.Progress?.GlobalStep ?? 0}{d.AccuracyText()}"));
                break;
            case AttemptOutcomes.Suspended:
                break;
            case AttemptOutcomes.GangStartTimeout:
                // Not the job's failure (the cluster had no room for the whole gang): retried with backoff, never against maxRestarts.
                d.Status.GangStartTimeouts++;
                var retry = TrainingJobDecider.BackoffFor(d.Spec, d.Status.GangStartTimeouts);
                d.Status.NextAttemptTime = (d.Now + retry).UtcDateTime;
                d.SetPhase(JobPhases.Restarting, ConditionReasons.GangStartTimeout, $"{outcome.Message}; retrying in {retry.TotalSeconds:0}s (not counted against maxRestarts)");
                d.Events.Add(JobEvent.Warning(EventReasons.BackingOff, $"Attempt {d.Status.Attempt}: the gang did not start in time; retrying in {retry.TotalSeconds:0}s, not counted against maxRestarts"));
                break;
            case AttemptOutcomes.Reconfigured:
                // Not counted: no preemption, no restart, no backoff; the next attempt starts at once from the new spec.
                d.SetPhase(JobPhases.Restarting, ConditionReasons.Reconfiguring, $"{outcome.Message}; the next attempt runs the edited spec and {d.ResumeText()}");
                break;
            case AttemptOutcomes.DeadlineExceeded:
                // The trainer checkpointed before its deadline: status.resumeFrom stays, and raising
                // activeDeadlineSeconds (or removing it) resumes the job from there.
                d.Fail(ConditionReasons.DeadlineExceeded, $"{outcome.Message}; {d.ResumeText()} when spec.activeDeadlineSeconds is raised", EventReasons.DeadlineExceeded);
                break;
            case AttemptOutcomes.Preempted:
                d.Status.Preemptions++;
                d.SetPhase(JobPhases.Restarting, ConditionReasons.Preempted, $"{outcome.Message}; replacing it");
                d.Events.Add(JobEvent.Warning(EventReasons.Preempted, $"Attempt {d.Status.Attempt}: {outcome.Message}; {d.ResumeText()} (preemptions: {d.Status.Preemptions}, not counted against maxRestarts)"));
                break;
            case AttemptOutcomes.ConfigurationError when outcome.Reason == ConditionReasons.CheckpointPrefixInUse:
                Conditions.Set(d.ConditionList, ConditionTypes.CheckpointPrefixInUse, true, ConditionReasons.CheckpointPrefixInUse, outcome.Message, d.Generation, d.Now);
                d.Fail(ConditionReasons.CheckpointPrefixInUse, outcome.Message, EventReasons.CheckpointPrefixInUse);
                break;
            case AttemptOutcomes.ConfigurationError:
                d.Fail(ConditionReasons.ConfigurationError, $"{outcome.Message}; not retried");
                break;
            case AttemptOutcomes.StorageUnavailable:
                // Infrastructure trouble, not the job's failure: retried with backoff, never against maxRestarts.
                d.Status.StorageRetries++;
                var wait = TrainingJobDecider.BackoffFor(d.Spec, d.Status.StorageRetries);
                d.Status.NextAttemptTime = (d.Now + wait).UtcDateTime;
                Conditions.Set(d.ConditionList, ConditionTypes.StorageAvailable, false, ConditionReasons.StorageUnreachable, outcome.Message, d.Generation, d.Now);
                d.SetPhase(JobPhases.Restarting, ConditionReasons.StorageUnreachable, $"{outcome.Message}; retrying in {wait.TotalSeconds:0}s (not counted against maxRestarts)");
                d.Events.Add(JobEvent.Warning(EventReasons.StorageUnavailable, $"Attempt {d.Status.Attempt}: {outcome.Message}; retrying in {wait.TotalSeconds:0}s, not counted against maxRestarts"));
                break;
            default:
                if (d.Status.Restarts + 1 > d.Spec.EffectiveMaxRestarts)
                {
                    d.Fail(ConditionReasons.MaxRestartsExceeded, $"{outcome.Message}; maxRestarts ({d.Spec.EffectiveMaxRestarts}) exceeded");
                    break;
                }

                d.Status.Restarts++;
                var delay = TrainingJobDecider.BackoffFor(d.Spec, d.Status.Restarts);
                d.Status.NextAttemptTime = (d.Now + delay).UtcDateTime;
                d.SetPhase(JobPhases.Restarting, ConditionReasons.BackingOff, $"{outcome.Message}; retry {d.Status.Restarts}/{d.Spec.EffectiveMaxRestarts} in {delay.TotalSeconds:0}s");
                d.Events.Add(JobEvent.Warning(EventReasons.AttemptFailed, $"Attempt {d.Status.Attempt}: {outcome.Message}; retry {d.Status.Restarts}/{d.Spec.EffectiveMaxRestarts} in {delay.TotalSeconds:0}s, {d.ResumeText()}"));
                break;
        }
    }

    /// <param name="checkpointSource">The message that gives the checkpoint's own position (the sidecar's), when not <paramref name="t"/>.</param>
    private static void ApplyTermination(this DecisionDraft d, TerminationMessage? t, TerminationMessage? checkpointSource = null)
    {
        if (t is null)
        {
            return;
        }

        // A trainer that stopped before its first step (or an older one, failing) reports 0: the last known
        // position stays.
        if (t.GlobalStep is { } globalStep && (globalStep > 0 || d.Status.Progress is null))
        {
            d.Status.Progress = new TrainingProgress { GlobalStep = globalStep, Epoch = t.Epoch ?? 0, StepInEpoch = t.StepInEpoch ?? 0 };
        }

        if (t.TestAccuracy is { } accuracy)
        {
            d.Status.TestAccuracy = accuracy;
        }

        d.Status.Best = BestStatus.FromTermination(d.Status.Best, t.Best);
        if (t.Stage is { } stage)
        {
            d.Status.Stage = new StageStatus { Name = stage.Name, Index = stage.Index, Total = stage.Total };
        }

        if (t.Lineage is { } lineage)
        {
            d.Status.Lineage = new LineageStatus { Source = lineage.Source, Checkpoint = lineage.Checkpoint, GlobalStep = lineage.GlobalStep, SkippedParameters = lineage.SkippedParameters is null ? null : [.. lineage.SkippedParameters] };
        }

        var uri = d.Spec.Checkpoint?.Uri;
        CheckpointRecord? record = null;
        if (!string.IsNullOrEmpty(t.Checkpoint))
        {
            var source = checkpointSource ?? t;
            var checkpointStep = CheckpointLayout.TryParseLocation(t.Checkpoint, out var step) ? step : source.GlobalStep ?? 0;
            var samePosition = checkpointStep == source.GlobalStep;
            record = new CheckpointRecord
            {
                GlobalStep = checkpointStep,
                Epoch = samePosition ? source.Epoch : null,
                StepInEpoch = samePosition ? source.StepInEpoch : null,
                Location = t.Checkpoint,
                // With a remote store only a remote location is durable: the pod's own directory dies with it.
                Uploaded = (t.CheckpointUploaded ?? true) && d.Durable(t.Checkpoint),
                Time = d.Now.UtcDateTime,
            };
        }

        // Where the attempt really resumed: durable, and what a replacement finds unless a newer one was committed.
        if (t.ResumedFrom is { Checkpoint.Length: > 0 } r && d.Durable(r.Checkpoint) && !string.IsNullOrEmpty(uri)
            && (record is null || !record.Uploaded || record.GlobalStep < r.GlobalStep))
        {
            var resumed = new CheckpointRecord { GlobalStep = r.GlobalStep, Epoch = r.Epoch, StepInEpoch = r.StepInEpoch, Location = r.Checkpoint, Uploaded = true, Time = d.Now.UtcDateTime };
            d.Status.ResumeFrom = DecisionDraft.Clone(resumed);
            record ??= resumed;
        }

        if (record is null)
        {
            return;
        }

        d.Status.LastCheckpoint = record;
        if (record.Uploaded && !string.IsNullOrEmpty(uri))
        {
            d.Status.ResumeFrom = DecisionDraft.Clone(record);
        }
    }

    /// <summary>
    /// Whether the job's deadline now (spec.activeDeadlineSeconds from status.startTime) is later than the one the
    /// ended pod was given (TRAINER_DEADLINE), or gone: the user raised it while the attempt ran.
    /// </summary>
    private static bool DeadlineRaised(DecisionDraft d, V1Pod? pod)
    {
        var given = pod?.Spec?.Containers?.FirstOrDefault(c => c.Name == WellKnown.TrainerContainer)?.Env?
            .FirstOrDefault(e => e.Name == TrainerEnvironment.Deadline)?.Value;
        if (given is null || !DateTimeOffset.TryParse(given, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var old))
        {
            return false;
        }

        return AttemptDeadline.Of(d.Spec, d.Status.StartTime) is not { } now || (now > old.AddSeconds(1) && now > d.Now);
    }

    /// <summary>A checkpoint location a replacement can use: any, without a remote store; with one, only a remote URI.</summary>
    private static bool Durable(this DecisionDraft d, string? location) =>
        string.IsNullOrEmpty(d.Spec.Checkpoint?.Uri) || CheckpointLayout.IsRemote(location);
}
