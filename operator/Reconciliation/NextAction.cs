using K8sTraining.Operator.Api;
using K8sTraining.Operator.Pods;
using k8s.Models;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>
/// Choose the next action: the order in which the decider looks at a job (deleted, ended attempt, terminal, spec,
/// deadline, suspend, the live attempt, node loss) and, when nothing holds it back, the next attempt's pod.
/// </summary>
internal static class NextAction
{
    internal static void Run(this DecisionDraft d, IReadOnlyList<V1Pod> allPods)
    {
        var pods = allPods.Where(p => PodClassifier.AttemptOf(p) is not null).OrderBy(p => PodClassifier.AttemptOf(p)).ToList();

        if (d.Job.Metadata.DeletionTimestamp is not null)
        {
            // Garbage collection removes the pods; let ended ones go.
            d.ReleaseEnded(pods, int.MaxValue);
            return;
        }

        d.Status.ObservedGeneration = d.Generation;
        d.Status.Phase ??= JobPhases.Pending;

        // A pod created just before a crash (status not yet written) is adopted, never duplicated.
        var newest = pods.Select(p => PodClassifier.AttemptOf(p)!.Value).DefaultIfEmpty(0).Max();
        var adopted = newest > d.Status.Attempt;
        if (adopted)
        {
            // The end of the attempt the status still names is counted first: a preemption (or a failure without
            // backoff) is counted in the same reconcile that creates the next pod, so a crash between that create and
            // the status write would otherwise lose the count (found by the chaos suite's crash at every write).
            d.AccountForEndOfEarlierAttempt(pods);
            d.Status.Attempt = newest;
            d.Status.ActivePod = GangAttempt.Of(pods, newest)?.Lead.Metadata.Name ?? pods.Last().Metadata.Name;
            d.Status.StartTime ??= d.Now.UtcDateTime;
        }

        d.ReleaseEnded(pods, d.Status.Attempt);
        foreach (var stale in pods.Where(p => PodClassifier.AttemptOf(p) < d.Status.Attempt && PodClassifier.StateOf(p) is PodState.Pending or PodState.Running))
        {
            d.Actions.Add(new DeletePod(stale.Metadata.Name, "a newer attempt exists"));
        }

        // A multi-worker attempt is read as one (GangAttempt): worker 0 stands for it, its state is the gang's.
        var gang = GangAttempt.Of(pods, d.Status.Attempt);
        var current = gang?.Lead ?? pods.FirstOrDefault(p => PodClassifier.AttemptOf(p) == d.Status.Attempt);
        if (current is not null)
        {
            // The pod exists (even if it already ended): any refused create before it is over.
            PodCreateFailures.Clear(d.Status, d.Generation, current.Metadata.Name, d.Now);
        }

        d.AccountForEndOfAttempt(current, gang);

        if (Revival.Why(d.Job, d.Status, d.Now) is { } why)
        {
            d.Revive(why);
        }

        if (JobPhases.IsTerminal(d.Status.Phase))
        {
            d.Finish(pods);
            return;
        }

        if (!d.CheckSpec(pods.Any(p => PodClassifier.StateOf(p) != PodState.Ended), out var trainingChange))
        {
            return;
        }

        if (d.CheckDeadline(pods))
        {
            return;
        }

        var state = gang?.State ?? (current is null ? PodState.Ended : PodClassifier.StateOf(current));
        if (d.Spec.IsSuspended)
        {
            d.Suspend(current, state);
            return;
        }

        if (d.Status.Phase == JobPhases.Suspended)
        {
            // An adopted pod is newer than the attempt the suspend stopped: the resume created it and its status write
            // was lost (found by the chaos suite's 429s). It is the resumed attempt, not the suspend's pod to stop.
            if (state != PodState.Ended && !adopted)
            {
                // Resumed while the pod stopped for the suspend still checkpoints (or before its deletion was even
                // seen): its end belongs to the suspend, not a preemption, so the job stays Suspended until it
                // has stopped. The delete is repeated (harmless) in case it was never made.
                if (state is PodState.Pending or PodState.Running)
                {
                    d.Actions.Add(new DeletePod(current!.Metadata.Name, "the job was suspended"));
                }

                d.SetPhase(JobPhases.Suspended, ConditionReasons.SuspendedByUser, $"resuming once pod {current!.Metadata.Name} has checkpointed and stopped");
                return;
            }

            d.Resume();
        }

        if (state != PodState.Ended && !NodeLoss.RecordedAsLost(d.Status, current!))
        {
            // A pod on a lost Node: wait (NodeLost says why), or, under Replace and in time, leave it and go on.
            if (NodeLoss.Judge(d.Job, current!, d.Nodes, d.Now) is not { } loss)
            {
                if (gang is not null && d.TearDownIfBroken(gang))
                {
                    return;
                }

                if (state == PodState.Running)
                {
                    d.Status.GangStartTimeouts = 0;
                }

                d.Observe(current!, state);
                d.NodeLossOver(current!, state);
                if (trainingChange is null)
                {
                    // A live edit of a setting a resume may take: stop gracefully, the next attempt runs the new spec.
                    d.Reconfigure(current!, state);
                }

                return;
            }

            if (!loss.ReplaceNow)
            {
                d.WaitForLostNode(current!, loss);
                return;
            }

            d.ReplaceLostAttempt(current!, loss);
        }

        if (pods.Any(p => PodClassifier.StateOf(p) != PodState.Ended && !NodeLoss.Abandoned(d.Job, d.Status, p, d.Nodes, d.Now)))
        {
            // An older pod is still shutting down: never two trainers of one job at once.
            return;
        }

        if (trainingChange is not null)
        {
            // The edit is refused: no attempt starts from it (SpecValid says why).
            d.SetPhase(d.Status.Attempt == 0 ? JobPhases.Pending : JobPhases.Restarting, ConditionReasons.TrainingChangedWithCheckpoints, $"no new attempt: {TrainingChanges.Describe(trainingChange, d.Spec.Checkpoint?.Uri)}");
            return;
        }

        if (d.WaitForEarlierPodsToGo(pods))
        {
            return;
        }

        d.StartNextAttempt();
    }

    /// <summary>
    /// Counts the end of the attempt the status names when its pod has ended, before a newer attempt's pod is adopted.
    /// A pod still running (a lost Node's) or already gone is left to the paths that handle those.
    /// </summary>
    private static void AccountForEndOfEarlierAttempt(this DecisionDraft d, List<V1Pod> pods)
    {
        var gang = GangAttempt.Of(pods, d.Status.Attempt);
        var pod = gang?.Lead ?? pods.FirstOrDefault(p => PodClassifier.AttemptOf(p) == d.Status.Attempt);
        if (pod is not null && (gang?.State ?? PodClassifier.StateOf(pod)) == PodState.Ended)
        {
            d.AccountForEndOfAttempt(pod, gang);
            d.Status.NextAttemptTime = null; // the next attempt exists: no backoff is pending any more
        }
    }

    private static void ReleaseEnded(this DecisionDraft d, List<V1Pod> pods, int belowOrAtAttempt)
    {
        foreach (var pod in pods)
        {
            var attempt = PodClassifier.AttemptOf(pod);
            var accounted = attempt < d.Status.Attempt || (attempt == d.Status.Attempt && d.Status.LastTermination?.Attempt == attempt) || belowOrAtAttempt == int.MaxValue;
            var released = d.Actions.OfType<ReleasePod>().Any(r => r.Name == pod.Metadata.Name);
            if (attempt <= belowOrAtAttempt && accounted && !released && DecisionDraft.HasFinalizer(pod) && PodClassifier.StateOf(pod) == PodState.Ended)
            {
                d.Actions.Add(new ReleasePod(pod.Metadata.Name));
            }
        }
    }

    private static bool CheckSpec(this DecisionDraft d, bool attemptAlive, out TrainingChange? trainingChange)
    {
        trainingChange = null;
        var errors = SpecValidator.Validate(d.Spec);
        if (errors.Count > 0)
        {
            var message = string.Join("; ", errors);
            var wasInvalid = Conditions.Find(d.Status.Conditions, ConditionTypes.SpecValid) is { Status: "False" } old && old.Message == message;
            Conditions.Set(d.ConditionList, ConditionTypes.SpecValid, false, ConditionReasons.InvalidSpec, message, d.Generation, d.Now);
            if (!wasInvalid)
            {
                d.Events.Add(JobEvent.Warning(EventReasons.InvalidSpec, $"Invalid spec, no pod is created until it is fixed: {message}"));
            }

            return false;
        }

        var wasInvalidBefore = Conditions.Find(d.Status.Conditions, ConditionTypes.SpecValid)?.Status == "False";
        trainingChange = TrainingChanges.Refused(d.Spec, d.Status, attemptAlive);
        if (trainingChange is not null)
        {
            // Refused at once, with the running attempt (if any) left alone: see TrainingChanges.
            var message = TrainingChanges.Describe(trainingChange, d.Spec.Checkpoint?.Uri);
            var alreadySaid = Conditions.Find(d.Status.Conditions, ConditionTypes.SpecValid) is { Status: "False" } old && old.Message == message;
            Conditions.Set(d.ConditionList, ConditionTypes.SpecValid, false, ConditionReasons.TrainingChangedWithCheckpoints, message, d.Generation, d.Now);
            if (!alreadySaid)
            {
                d.Events.Add(JobEvent.Warning(EventReasons.TrainingChangedWithCheckpoints, message));
            }

            return true;
        }

        Conditions.Set(d.ConditionList, ConditionTypes.SpecValid, true, ConditionReasons.Valid, "the spec is valid", d.Generation, d.Now);
        if (wasInvalidBefore)
        {
            d.Events.Add(JobEvent.Normal(EventReasons.SpecValid, "The spec is valid again"));
        }

        return true;
    }

    private static void StartNextAttempt(this DecisionDraft d)
    {
        // A refused pod create waits out its backoff, unless the spec changed since (then the new spec is tried now).
        var specChanged = PodCreateFailures.SpecChangedSinceRefusal(d.Status, d.Generation);
        if (!specChanged && d.Status.NextAttemptTime is { } next && new DateTimeOffset(DateTime.SpecifyKind(next, DateTimeKind.Utc)) is var at && at > d.Now)
        {
            d.Requeue(at - d.Now);
            if (!PodCreateFailures.Active(d.Status, d.Generation))
            {
                d.SetPhase(JobPhases.Restarting, ConditionReasons.BackingOff, $"waiting until {at:O} before attempt {d.Status.Attempt + 1}");
            }

            return;
        }

        if (!d.InitSourceReady())
        {
            return;
        }

        // Resuming under a changed learning rate, schedule or optimizer hyper-parameter (or, with stages, any edit since
        // the last attempt) needs the trainer's consent to rebuild its schedule from the current position.
        var reconfigure = d.Status.ResumeFrom is not null
            && (TrainingChanges.NeedsReconfigure(d.Status.CheckpointedTraining?.Training, d.Spec.Training)
                || (d.Spec.Stages is { Count: > 0 } && d.Status.CurrentAttempt?.ObservedGeneration is { } last && last < d.Generation));
        TrainingChanges.RecordOnFreshStart(d.Spec, d.Status);

        d.Status.Attempt++;
        // spec.workers as it is now: an edit since the last attempt takes effect here (elastic resume).
        var workers = d.Spec.EffectiveWorkers;
        var pod = workers > 1 ? PodNames.ForWorker(d.Name, d.Status.Attempt, 0) : PodNames.ForAttempt(d.Name, d.Status.Attempt);
        d.Status.StartTime ??= d.Now.UtcDateTime;
        var inputs = new AttemptInputs(AttemptDeadline.Of(d.Spec, d.Status.StartTime), d.Init?.Uri, reconfigure);
        if (workers > 1)
        {
            d.Actions.Add(new EnsureWorkerService());
        }

        d.Actions.Add(new CreatePod(d.Status.Attempt, inputs, workers));
        d.Status.ActivePod = pod;
        d.Status.NextAttemptTime = null;
        d.Status.CurrentAttempt = new AttemptRecord
        {
            Attempt = d.Status.Attempt,
            Pod = pod,
            ObservedGeneration = d.Generation,
            StartTime = d.Now.UtcDateTime,
            Epochs = d.Spec.EffectiveEpochs,
            Reconfigured = reconfigure ? true : null,
            Workers = workers > 1 ? workers : null,
        };
        d.Reconfigured(pod);
        var phase = d.Status.Attempt == 1 ? JobPhases.Pending : JobPhases.Restarting;
        var created = workers > 1 ? $"{workers} worker pods ({pod} to {PodNames.ForWorker(d.Name, d.Status.Attempt, workers - 1)})" : $"pod {pod}";
        d.SetPhase(phase, ConditionReasons.PodPending, $"created {created} for attempt {d.Status.Attempt}");
        d.Events.Add(JobEvent.Normal(EventReasons.AttemptCreated, $"Created {created} for attempt {d.Status.Attempt}; {d.ResumeText()}"));
        d.NodeLossReplaced(pod);
    }
}
