using System.Globalization;
using System.Text.Json;
using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Pods;
using k8s;
using k8s.Models;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>
/// The whole policy of the operator as one pure function of (job, its observed pods, now): which pod should exist,
/// how an ended attempt counts (preemption, failure, success), the new status, the Events and when to look again.
/// </summary>
public static class TrainingJobDecider
{
    private static readonly IReadOnlyDictionary<string, V1Node?> NoNodes = new Dictionary<string, V1Node?>();

    /// <param name="report">What the running attempt's trainer said about itself, when the shell could ask it.</param>
    /// <param name="nodes">The Nodes of the job's pods by name (null: known to be deleted); a missing name is unknown.</param>
    public static Decision Decide(TrainingJob job, IReadOnlyList<V1Pod> pods, DateTimeOffset now, TrainerReport? report = null, IReadOnlyDictionary<string, V1Node?>? nodes = null)
    {
        var step = new Step(job, Clone(job.Status) ?? new TrainingJobStatus(), now, report, nodes ?? NoNodes);
        step.Run(pods);
        return new Decision(step.Status, step.Actions, step.Events, step.RequeueAfter);
    }

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

    private sealed class Step(TrainingJob job, TrainingJobStatus status, DateTimeOffset now, TrainerReport? report, IReadOnlyDictionary<string, V1Node?> nodes)
    {
        public TrainingJobStatus Status { get; } = status;

        public List<JobAction> Actions { get; } = [];

        public List<JobEvent> Events { get; } = [];

        public TimeSpan? RequeueAfter { get; private set; }

        private TrainingJobSpec Spec => job.Spec;

        private string Name => job.Metadata.Name;

        private long? Generation => job.Metadata.Generation;

        private IList<V1Condition> ConditionList => Status.Conditions ??= [];

        public void Run(IReadOnlyList<V1Pod> allPods)
        {
            var pods = allPods.Where(p => PodClassifier.AttemptOf(p) is not null).OrderBy(p => PodClassifier.AttemptOf(p)).ToList();

            if (job.Metadata.DeletionTimestamp is not null)
            {
                // Garbage collection removes the pods; let ended ones go.
                ReleaseEnded(pods, int.MaxValue);
                return;
            }

            Status.ObservedGeneration = Generation;
            Status.Phase ??= JobPhases.Pending;

            // A pod created just before a crash (status not yet written) is adopted, never duplicated.
            var newest = pods.Select(p => PodClassifier.AttemptOf(p)!.Value).DefaultIfEmpty(0).Max();
            if (newest > Status.Attempt)
            {
                Status.Attempt = newest;
                Status.ActivePod = pods.Last().Metadata.Name;
                Status.StartTime ??= now.UtcDateTime;
            }

            ReleaseEnded(pods, Status.Attempt);
            foreach (var stale in pods.Where(p => PodClassifier.AttemptOf(p) < Status.Attempt && PodClassifier.StateOf(p) is PodState.Pending or PodState.Running))
            {
                Actions.Add(new DeletePod(stale.Metadata.Name, "a newer attempt exists"));
            }

            var current = pods.FirstOrDefault(p => PodClassifier.AttemptOf(p) == Status.Attempt);
            if (current is not null)
            {
                // The pod exists (even if it already ended): any refused create before it is over.
                PodCreateFailures.Clear(Status, Generation, current.Metadata.Name, now);
            }

            AccountForEndOfAttempt(current);

            if (Revival.Why(job, Status) is { } why)
            {
                Revive(why);
            }

            if (JobPhases.IsTerminal(Status.Phase))
            {
                Finish(pods);
                return;
            }

            if (!CheckSpec(pods.Any(p => PodClassifier.StateOf(p) != PodState.Ended), out var trainingChange))
            {
                return;
            }

            if (CheckDeadline(pods))
            {
                return;
            }

            if (Spec.IsSuspended)
            {
                Suspend(current);
                return;
            }

            var state = current is null ? PodState.Ended : PodClassifier.StateOf(current);
            if (Status.Phase == JobPhases.Suspended)
            {
                if (state != PodState.Ended)
                {
                    // Resumed while the pod stopped for the suspend still checkpoints (or before its deletion was even
                    // seen): its end belongs to the suspend, not a preemption, so the job stays Suspended until it
                    // has stopped. The delete is repeated (harmless) in case it was never made.
                    if (state is PodState.Pending or PodState.Running)
                    {
                        Actions.Add(new DeletePod(current!.Metadata.Name, "the job was suspended"));
                    }

                    SetPhase(JobPhases.Suspended, ConditionReasons.SuspendedByUser, $"resuming once pod {current!.Metadata.Name} has checkpointed and stopped");
                    return;
                }

                Resume();
            }

            if (state != PodState.Ended && !NodeLoss.RecordedAsLost(Status, current!))
            {
                // A pod on a lost Node: wait (NodeLost says why), or, under Replace and in time, leave it and go on.
                if (NodeLoss.Judge(job, current!, nodes, now) is not { } loss)
                {
                    Observe(current!, state);
                    NodeLossOver(current!, state);
                    return;
                }

                if (!loss.ReplaceNow)
                {
                    WaitForLostNode(current!, loss);
                    return;
                }

                ReplaceLostAttempt(current!, loss);
            }

            if (pods.Any(p => PodClassifier.StateOf(p) != PodState.Ended && !NodeLoss.Abandoned(job, Status, p, nodes, now)))
            {
                // An older pod is still shutting down: never two trainers of one job at once.
                return;
            }

            if (trainingChange is not null)
            {
                // The edit is refused: no attempt starts from it (SpecValid says why).
                SetPhase(Status.Attempt == 0 ? JobPhases.Pending : JobPhases.Restarting, ConditionReasons.TrainingChangedWithCheckpoints, $"no new attempt: {TrainingChanges.Describe(trainingChange, Spec.Checkpoint?.Uri)}");
                return;
            }

            StartNextAttempt();
        }

        private void Revive(string why)
        {
            Status.Phase = JobPhases.Restarting;
            Status.CompletionTime = null;
            Status.NextAttemptTime = null;
            Conditions.Set(ConditionList, ConditionTypes.Failed, false, ConditionReasons.SpecChanged, $"running again: {why}", Generation, now);
            if (Conditions.IsTrue(Status.Conditions, ConditionTypes.CheckpointPrefixInUse))
            {
                Conditions.Set(ConditionList, ConditionTypes.CheckpointPrefixInUse, false, ConditionReasons.SpecChanged, "the spec changed; the next attempt checks the prefix again", Generation, now);
            }

            Events.Add(JobEvent.Normal(EventReasons.Revived, $"The job runs again: {why}"));
        }

        private void ReleaseEnded(List<V1Pod> pods, int belowOrAtAttempt)
        {
            foreach (var pod in pods)
            {
                var attempt = PodClassifier.AttemptOf(pod);
                var accounted = attempt < Status.Attempt || (attempt == Status.Attempt && Status.LastTermination?.Attempt == attempt) || belowOrAtAttempt == int.MaxValue;
                if (attempt <= belowOrAtAttempt && accounted && HasFinalizer(pod) && PodClassifier.StateOf(pod) == PodState.Ended)
                {
                    Actions.Add(new ReleasePod(pod.Metadata.Name));
                }
            }
        }

        private void AccountForEndOfAttempt(V1Pod? current)
        {
            if (Status.Attempt == 0 || Status.LastTermination?.Attempt == Status.Attempt)
            {
                return;
            }

            PodOutcome outcome;
            if (current is null)
            {
                // Our finalizer should make this impossible; someone removed it, so the end was not observed.
                var name = Status.ActivePod ?? PodNames.ForAttempt(Name, Status.Attempt);
                outcome = new PodOutcome(AttemptOutcomes.Preempted, "PodDeleted", null, $"pod {name} disappeared before its end was observed", null);
            }
            else if (PodClassifier.StateOf(current) == PodState.Ended)
            {
                outcome = PodClassifier.Classify(current);
                if (HasFinalizer(current))
                {
                    Actions.Add(new ReleasePod(current.Metadata.Name));
                }
            }
            else
            {
                return;
            }

            Record(outcome, current?.Metadata.Name ?? Status.ActivePod);
        }

        private void Record(PodOutcome outcome, string? podName)
        {
            var result = outcome.Outcome;
            if (JobPhases.IsTerminal(Status.Phase))
            {
                result = result == AttemptOutcomes.Succeeded ? result : AttemptOutcomes.Stopped;
            }
            else if ((Spec.IsSuspended || Status.Phase == JobPhases.Suspended) && outcome.IsPreemption)
            {
                result = AttemptOutcomes.Suspended;
            }

            Status.LastTermination = new TerminationRecord
            {
                Attempt = Status.Attempt,
                Pod = podName,
                Outcome = result,
                Reason = outcome.Reason,
                ExitCode = outcome.ExitCode,
                Message = outcome.Message,
                Time = now.UtcDateTime,
            };
            Status.ActivePod = null;
            ApplyTermination(outcome.Termination);
            if (result is AttemptOutcomes.Succeeded or AttemptOutcomes.Preempted or AttemptOutcomes.Failed && outcome.Termination is not null)
            {
                StorageReachable("an attempt ran past its start-up");
            }

            if (JobPhases.IsTerminal(Status.Phase))
            {
                return;
            }

            switch (result)
            {
                case AttemptOutcomes.Succeeded:
                    Status.CompletionTime = now.UtcDateTime;
                    SetPhase(JobPhases.Succeeded, ConditionReasons.Completed, $"training completed after {Status.Attempt} attempt(s){AccuracyText()}");
                    Events.Add(JobEvent.Normal(EventReasons.Succeeded, $"Training completed at global step {Status.Progress?.GlobalStep ?? 0}{AccuracyText()}"));
                    break;
                case AttemptOutcomes.Suspended:
                    break;
                case AttemptOutcomes.Preempted:
                    Status.Preemptions++;
                    SetPhase(JobPhases.Restarting, ConditionReasons.Preempted, $"{outcome.Message}; replacing it");
                    Events.Add(JobEvent.Warning(EventReasons.Preempted, $"Attempt {Status.Attempt}: {outcome.Message}; {ResumeText()} (preemptions: {Status.Preemptions}, not counted against maxRestarts)"));
                    break;
                case AttemptOutcomes.ConfigurationError when outcome.Reason == ConditionReasons.CheckpointPrefixInUse:
                    Conditions.Set(ConditionList, ConditionTypes.CheckpointPrefixInUse, true, ConditionReasons.CheckpointPrefixInUse, outcome.Message, Generation, now);
                    Fail(ConditionReasons.CheckpointPrefixInUse, outcome.Message, EventReasons.CheckpointPrefixInUse);
                    break;
                case AttemptOutcomes.ConfigurationError:
                    Fail(ConditionReasons.ConfigurationError, $"{outcome.Message}; not retried");
                    break;
                case AttemptOutcomes.StorageUnavailable:
                    // Infrastructure trouble, not the job's failure: retried with backoff, never against maxRestarts.
                    Status.StorageRetries++;
                    var wait = BackoffFor(Spec, Status.StorageRetries);
                    Status.NextAttemptTime = (now + wait).UtcDateTime;
                    Conditions.Set(ConditionList, ConditionTypes.StorageAvailable, false, ConditionReasons.StorageUnreachable, outcome.Message, Generation, now);
                    SetPhase(JobPhases.Restarting, ConditionReasons.StorageUnreachable, $"{outcome.Message}; retrying in {wait.TotalSeconds:0}s (not counted against maxRestarts)");
                    Events.Add(JobEvent.Warning(EventReasons.StorageUnavailable, $"Attempt {Status.Attempt}: {outcome.Message}; retrying in {wait.TotalSeconds:0}s, not counted against maxRestarts"));
                    break;
                default:
                    if (Status.Restarts + 1 > Spec.EffectiveMaxRestarts)
                    {
                        Fail(ConditionReasons.MaxRestartsExceeded, $"{outcome.Message}; maxRestarts ({Spec.EffectiveMaxRestarts}) exceeded");
                        break;
                    }

                    Status.Restarts++;
                    var delay = BackoffFor(Spec, Status.Restarts);
                    Status.NextAttemptTime = (now + delay).UtcDateTime;
                    SetPhase(JobPhases.Restarting, ConditionReasons.BackingOff, $"{outcome.Message}; retry {Status.Restarts}/{Spec.EffectiveMaxRestarts} in {delay.TotalSeconds:0}s");
                    Events.Add(JobEvent.Warning(EventReasons.AttemptFailed, $"Attempt {Status.Attempt}: {outcome.Message}; retry {Status.Restarts}/{Spec.EffectiveMaxRestarts} in {delay.TotalSeconds:0}s, {ResumeText()}"));
                    break;
            }
        }

        private void ApplyTermination(TerminationMessage? t)
        {
            if (t is null)
            {
                return;
            }

            // A trainer that stopped before its first step (or an older one, failing) reports 0: the last known
            // position stays.
            if (t.GlobalStep is { } globalStep && (globalStep > 0 || Status.Progress is null))
            {
                Status.Progress = new TrainingProgress { GlobalStep = globalStep, Epoch = t.Epoch ?? 0, StepInEpoch = t.StepInEpoch ?? 0 };
            }

            if (t.TestAccuracy is { } accuracy)
            {
                Status.TestAccuracy = accuracy;
            }

            var uri = Spec.Checkpoint?.Uri;
            CheckpointRecord? record = null;
            if (!string.IsNullOrEmpty(t.Checkpoint))
            {
                var checkpointStep = CheckpointLayout.TryParseLocation(t.Checkpoint, out var step) ? step : t.GlobalStep ?? 0;
                var samePosition = checkpointStep == t.GlobalStep;
                record = new CheckpointRecord
                {
                    GlobalStep = checkpointStep,
                    Epoch = samePosition ? t.Epoch : null,
                    StepInEpoch = samePosition ? t.StepInEpoch : null,
                    Location = t.Checkpoint,
                    // With a remote store only a remote location is durable: the pod's own directory dies with it.
                    Uploaded = (t.CheckpointUploaded ?? true) && Durable(t.Checkpoint),
                    Time = now.UtcDateTime,
                };
            }

            // Where the attempt really resumed: durable, and what a replacement finds unless a newer one was committed.
            if (t.ResumedFrom is { Checkpoint.Length: > 0 } r && Durable(r.Checkpoint) && !string.IsNullOrEmpty(uri)
                && (record is null || !record.Uploaded || record.GlobalStep < r.GlobalStep))
            {
                var resumed = new CheckpointRecord { GlobalStep = r.GlobalStep, Epoch = r.Epoch, StepInEpoch = r.StepInEpoch, Location = r.Checkpoint, Uploaded = true, Time = now.UtcDateTime };
                Status.ResumeFrom = Clone(resumed);
                record ??= resumed;
            }

            if (record is null)
            {
                return;
            }

            Status.LastCheckpoint = record;
            if (record.Uploaded && !string.IsNullOrEmpty(uri))
            {
                Status.ResumeFrom = Clone(record);
            }
        }

        /// <summary>A checkpoint location a replacement can use: any, without a remote store; with one, only a remote URI.</summary>
        private bool Durable(string? location) =>
            string.IsNullOrEmpty(Spec.Checkpoint?.Uri) || CheckpointLayout.IsRemote(location);

        private void StorageReachable(string why)
        {
            if (Conditions.Find(Status.Conditions, ConditionTypes.StorageAvailable) is { Status: "False" })
            {
                Conditions.Set(ConditionList, ConditionTypes.StorageAvailable, true, ConditionReasons.StorageReachable, why, Generation, now);
                Events.Add(JobEvent.Normal(EventReasons.StorageAvailable, $"The checkpoint store is reachable again: {why}"));
            }

            Status.StorageRetries = 0;
        }

        private static CheckpointRecord Clone(CheckpointRecord r) =>
            new() { GlobalStep = r.GlobalStep, Epoch = r.Epoch, StepInEpoch = r.StepInEpoch, Location = r.Location, Uploaded = r.Uploaded, Time = r.Time };

        private void Finish(List<V1Pod> pods)
        {
            foreach (var pod in pods.Where(p => PodClassifier.StateOf(p) is PodState.Pending or PodState.Running))
            {
                Actions.Add(new DeletePod(pod.Metadata.Name, $"the job is {Status.Phase}"));
            }

            if (Spec.TtlSecondsAfterFinished is { } ttl && Status.CompletionTime is { } done)
            {
                var expiry = new DateTimeOffset(DateTime.SpecifyKind(done, DateTimeKind.Utc)).AddSeconds(ttl);
                if (now >= expiry)
                {
                    Actions.Add(new DeleteJob());
                    Events.Add(JobEvent.Normal(EventReasons.TtlExpired, $"Deleting the job: ttlSecondsAfterFinished ({ttl}s) has passed"));
                }
                else
                {
                    Requeue(expiry - now);
                }
            }
        }

        private bool CheckSpec(bool attemptAlive, out TrainingChange? trainingChange)
        {
            trainingChange = null;
            var errors = SpecValidator.Validate(Spec);
            if (errors.Count > 0)
            {
                var message = string.Join("; ", errors);
                var wasInvalid = Conditions.Find(Status.Conditions, ConditionTypes.SpecValid) is { Status: "False" } old && old.Message == message;
                Conditions.Set(ConditionList, ConditionTypes.SpecValid, false, ConditionReasons.InvalidSpec, message, Generation, now);
                if (!wasInvalid)
                {
                    Events.Add(JobEvent.Warning(EventReasons.InvalidSpec, $"Invalid spec, no pod is created until it is fixed: {message}"));
                }

                return false;
            }

            var wasInvalidBefore = Conditions.Find(Status.Conditions, ConditionTypes.SpecValid)?.Status == "False";
            trainingChange = TrainingChanges.Refused(Spec, Status, attemptAlive);
            if (trainingChange is not null)
            {
                // Refused at once, with the running attempt (if any) left alone: see TrainingChanges.
                var message = TrainingChanges.Describe(trainingChange, Spec.Checkpoint?.Uri);
                var alreadySaid = Conditions.Find(Status.Conditions, ConditionTypes.SpecValid) is { Status: "False" } old && old.Message == message;
                Conditions.Set(ConditionList, ConditionTypes.SpecValid, false, ConditionReasons.TrainingChangedWithCheckpoints, message, Generation, now);
                if (!alreadySaid)
                {
                    Events.Add(JobEvent.Warning(EventReasons.TrainingChangedWithCheckpoints, message));
                }

                return true;
            }

            Conditions.Set(ConditionList, ConditionTypes.SpecValid, true, ConditionReasons.Valid, "the spec is valid", Generation, now);
            if (wasInvalidBefore)
            {
                Events.Add(JobEvent.Normal(EventReasons.SpecValid, "The spec is valid again"));
            }

            return true;
        }

        private bool CheckDeadline(List<V1Pod> pods)
        {
            if (Spec.ActiveDeadlineSeconds is not { } seconds || Status.StartTime is not { } start)
            {
                return false;
            }

            var deadline = new DateTimeOffset(DateTime.SpecifyKind(start, DateTimeKind.Utc)).AddSeconds(seconds);
            if (now < deadline)
            {
                Requeue(deadline - now);
                return false;
            }

            Fail(ConditionReasons.DeadlineExceeded, $"activeDeadlineSeconds ({seconds}s) exceeded");
            Finish(pods);
            return true;
        }

        private void Suspend(V1Pod? current)
        {
            var state = current is null ? PodState.Ended : PodClassifier.StateOf(current);
            if (state is PodState.Pending or PodState.Running)
            {
                Actions.Add(new DeletePod(current!.Metadata.Name, "the job is suspended"));
            }

            var stopping = state != PodState.Ended;
            var message = stopping
                ? $"suspended; waiting for pod {current!.Metadata.Name} to checkpoint and stop"
                : $"suspended; {ResumeText()} when resumed";
            var transition = Status.Phase != JobPhases.Suspended;
            SetPhase(JobPhases.Suspended, ConditionReasons.SuspendedByUser, message);
            if (transition)
            {
                Events.Add(JobEvent.Normal(EventReasons.Suspended, stopping ? $"Job suspended; deleting pod {current!.Metadata.Name} gracefully so the trainer checkpoints" : "Job suspended"));
            }
        }

        private void Resume()
        {
            Conditions.Set(ConditionList, ConditionTypes.Suspended, false, ConditionReasons.Resumed, "the job was resumed", Generation, now);
            Status.Phase = JobPhases.Pending;

            // As for batch/v1 Jobs, the activeDeadlineSeconds clock restarts on resume.
            Status.StartTime = now.UtcDateTime;
            Events.Add(JobEvent.Normal(EventReasons.Resumed, $"Job resumed; {ResumeText()}"));
        }

        private void Observe(V1Pod pod, PodState state)
        {
            Status.ActivePod = pod.Metadata.Name;
            switch (state)
            {
                case PodState.Running:
                    if (Status.Phase != JobPhases.Running)
                    {
                        Events.Add(JobEvent.Normal(EventReasons.AttemptRunning, $"Attempt {Status.Attempt} is running in pod {pod.Metadata.Name}"));
                    }

                    SetPhase(JobPhases.Running, ConditionReasons.PodRunning, $"attempt {Status.Attempt} is running in pod {pod.Metadata.Name}");
                    ApplyReport(pod);
                    break;
                case PodState.Terminating:
                    SetPhase(Status.Phase!, ConditionReasons.PodTerminating, $"pod {pod.Metadata.Name} is terminating; the trainer is checkpointing");
                    break;
                default:
                    var phase = Status.Phase == JobPhases.Restarting ? JobPhases.Restarting : JobPhases.Pending;
                    if (PodStartProblems.Of(pod) is { } problem)
                    {
                        // What `kubectl describe pod` would say, on the job; one Event per problem, not per reconcile.
                        var before = Conditions.Find(Status.Conditions, ConditionTypes.Running)?.Reason;
                        SetPhase(phase, problem.Reason, $"pod {pod.Metadata.Name} (attempt {Status.Attempt}) cannot start: {problem.Message}");
                        if (PodStartProblem.FamilyOf(before) != problem.Family)
                        {
                            Events.Add(JobEvent.Warning(EventReasons.PodNotStarting, $"Pod {pod.Metadata.Name} cannot start ({problem.Reason}): {problem.Message}"));
                        }

                        break;
                    }

                    SetPhase(phase, ConditionReasons.PodPending, $"pod {pod.Metadata.Name} (attempt {Status.Attempt}) is pending");
                    break;
            }
        }

        /// <summary>
        /// The running trainer's own report: its position becomes the progress, and a newer committed checkpoint
        /// becomes the last checkpoint (and, with a remote store, where a replacement resumes) before the attempt ends,
        /// so even a pod that dies without a termination message (node lost) leaves a truthful resume point.
        /// </summary>
        private void ApplyReport(V1Pod pod)
        {
            if (report is null || report.Pod != pod.Metadata.Name)
            {
                return;
            }

            var p = report.Position;
            Status.Progress = new TrainingProgress { GlobalStep = p.GlobalStep, Epoch = p.Epoch, StepInEpoch = p.StepInEpoch };
            var uri = Spec.Checkpoint?.Uri;
            var root = string.IsNullOrEmpty(uri) ? WellKnown.CheckpointDirectory : uri;
            CheckpointRecord At(TrainingPosition c) => new()
            {
                GlobalStep = c.GlobalStep,
                Epoch = c.Epoch,
                StepInEpoch = c.StepInEpoch,
                Location = CheckpointLayout.Location(root, c.GlobalStep),
                Uploaded = true,
                Time = now.UtcDateTime,
            };

            if (report.ResumedFrom is not null || p.GlobalStep > 0)
            {
                StorageReachable($"attempt {Status.Attempt} got past its start-up");
            }

            // Where this attempt really resumed corrects the resume point taken from the previous attempt's last
            // report (which may lag a checkpoint behind, or name one the trainer found unusable).
            if (report.ResumedFrom is { } r && !string.IsNullOrEmpty(uri) && (report.Checkpoint is null || report.Checkpoint.GlobalStep <= r.GlobalStep))
            {
                if (r.GlobalStep == 0)
                {
                    Status.ResumeFrom = null;
                }
                else if (Status.ResumeFrom?.GlobalStep != r.GlobalStep)
                {
                    Status.ResumeFrom = At(r);
                    if ((Status.LastCheckpoint?.GlobalStep ?? -1) < r.GlobalStep)
                    {
                        Status.LastCheckpoint = At(r);
                    }
                }
            }

            if (report.Checkpoint is not { } c || c.GlobalStep <= (Status.LastCheckpoint?.GlobalStep ?? -1))
            {
                return;
            }

            var record = At(c);
            Status.LastCheckpoint = record;
            if (!string.IsNullOrEmpty(uri))
            {
                Status.ResumeFrom = Clone(record);
            }
        }

        private void StartNextAttempt()
        {
            // A refused pod create waits out its backoff, unless the spec changed since (then the new spec is tried now).
            var specChanged = PodCreateFailures.SpecChangedSinceRefusal(Status, Generation);
            if (!specChanged && Status.NextAttemptTime is { } next && new DateTimeOffset(DateTime.SpecifyKind(next, DateTimeKind.Utc)) is var at && at > now)
            {
                Requeue(at - now);
                if (!PodCreateFailures.Active(Status, Generation))
                {
                    SetPhase(JobPhases.Restarting, ConditionReasons.BackingOff, $"waiting until {at:O} before attempt {Status.Attempt + 1}");
                }

                return;
            }

            TrainingChanges.RecordOnFreshStart(Spec, Status);

            Status.Attempt++;
            var pod = PodNames.ForAttempt(Name, Status.Attempt);
            Actions.Add(new CreatePod(Status.Attempt));
            Status.ActivePod = pod;
            Status.NextAttemptTime = null;
            Status.StartTime ??= now.UtcDateTime;
            var phase = Status.Attempt == 1 ? JobPhases.Pending : JobPhases.Restarting;
            SetPhase(phase, ConditionReasons.PodPending, $"created pod {pod} for attempt {Status.Attempt}");
            Events.Add(JobEvent.Normal(EventReasons.AttemptCreated, $"Created pod {pod} for attempt {Status.Attempt}; {ResumeText()}"));
            NodeLossReplaced(pod);
        }

        /// <summary>Under either policy, while the current attempt's pod sits on a lost Node: say so, and look again.</summary>
        private void WaitForLostNode(V1Pod pod, NodeLossVerdict loss)
        {
            Status.ActivePod = pod.Metadata.Name;
            Status.NodeLoss = NodeLoss.Record(loss, pod, Status.Attempt);
            SetPhase(JobPhases.Restarting, loss.ConditionReason, loss.Message);
            if (Conditions.Set(ConditionList, ConditionTypes.NodeLost, true, loss.ConditionReason, loss.Message, Generation, now))
            {
                Events.Add(JobEvent.Warning(EventReasons.NodeLost, $"Attempt {Status.Attempt}: {loss.Message}"));
            }

            if (loss.RecheckAfter is { } after)
            {
                Requeue(after);
            }
        }

        /// <summary>
        /// The Replace policy acts: the attempt on the lost Node ends as a preemption (once) while its pod is left alone,
        /// and the run goes on to the next attempt.
        /// </summary>
        private void ReplaceLostAttempt(V1Pod pod, NodeLossVerdict loss)
        {
            Status.NodeLoss = NodeLoss.Record(loss, pod, Status.Attempt);
            Conditions.Set(ConditionList, ConditionTypes.NodeLost, true, loss.ConditionReason, loss.Message, Generation, now);
            if (Status.LastTermination?.Attempt == Status.Attempt)
            {
                // Recorded before (a refused create is being retried): never counted twice.
                return;
            }

            var message = $"pod {pod.Metadata.Name} is on a lost node ({loss.Sign.Description} since {NodeLoss.Time(loss.Since)}) and was replaced under nodeLossPolicy Replace after {Spec.EffectiveNodeLossReplaceAfterSeconds}s; it may still run, and checkpoint fencing refuses its commits";
            Record(new PodOutcome(AttemptOutcomes.Preempted, ConditionReasons.NodeLost, null, message, null), pod.Metadata.Name);
        }

        /// <summary>The replacement of an attempt lost with its Node was just created: one Event naming the checkpoint and the policy.</summary>
        private void NodeLossReplaced(string pod)
        {
            if (Status.NodeLoss is not { ReplacedAt: null } loss || loss.Attempt >= Status.Attempt)
            {
                return;
            }

            loss.ReplacedAt = now.UtcDateTime;
            var since = loss.Since is { } s ? new DateTimeOffset(DateTime.SpecifyKind(s, DateTimeKind.Utc)) : now;
            var how = loss.Policy == NodeLossPolicies.Replace
                ? $"nodeLossPolicy Replace acted after {NodeLoss.Seconds(now - since)}s while pod {loss.Pod} may still exist on node {loss.Node}"
                : $"nodeLossPolicy Wait: pod {loss.Pod} on node {loss.Node} is gone";
            var message = $"attempt {Status.Attempt} (pod {pod}) replaces attempt {loss.Attempt} lost with node {loss.Node} ({loss.Reason} since {NodeLoss.Time(since)}); {how}; {ResumeText()}";
            Conditions.Set(ConditionList, ConditionTypes.NodeLost, true, loss.Policy == NodeLossPolicies.Replace ? ConditionReasons.ReplacedUnderReplacePolicy : ConditionReasons.Replacing, $"{message}; waiting for it to run", Generation, now);
            Events.Add(JobEvent.Normal(EventReasons.NodeLossReplacement, $"Created pod {pod} for attempt {Status.Attempt} to replace attempt {loss.Attempt} lost with node {loss.Node}; {how}; {ResumeText()}"));
        }

        /// <summary>The current attempt's pod is on a healthy Node: a loss recorded before is over once it runs (or its Node came back).</summary>
        private void NodeLossOver(V1Pod pod, PodState state)
        {
            if (Status.NodeLoss is not { } loss)
            {
                return;
            }

            var since = loss.Since is { } s ? new DateTimeOffset(DateTime.SpecifyKind(s, DateTimeKind.Utc)) : now;
            if (loss.Attempt == Status.Attempt)
            {
                // The same pod, and its Node is no longer lost: the Node came back in time.
                Status.NodeLoss = null;
                var message = $"node {loss.Node} recovered after {NodeLoss.Seconds(now - since)}s; pod {pod.Metadata.Name} was not replaced";
                Conditions.Set(ConditionList, ConditionTypes.NodeLost, false, ConditionReasons.NodeRecovered, message, Generation, now);
                Events.Add(JobEvent.Normal(EventReasons.NodeRecovered, $"Attempt {Status.Attempt}: {message}"));
                return;
            }

            if (state == PodState.Running)
            {
                Status.NodeLoss = null;
                Conditions.Set(ConditionList, ConditionTypes.NodeLost, false, ConditionReasons.ReplacementRunning,
                    $"pod {pod.Metadata.Name} (attempt {Status.Attempt}) runs {NodeLoss.Seconds(now - since)}s after node {loss.Node} was lost ({loss.Reason}); nodeLossPolicy {loss.Policy}", Generation, now);
            }
        }

        private void Fail(string reason, string message, string eventReason = EventReasons.Failed)
        {
            Status.CompletionTime = now.UtcDateTime;
            Status.NextAttemptTime = null;
            SetPhase(JobPhases.Failed, reason, message);
            Events.Add(JobEvent.Warning(eventReason, $"Job failed ({reason}): {message}"));
        }

        private void SetPhase(string phase, string reason, string message)
        {
            Status.Phase = phase;
            var list = ConditionList;
            Conditions.Set(list, ConditionTypes.Running, phase == JobPhases.Running, reason, message, Generation, now);
            switch (phase)
            {
                case JobPhases.Succeeded:
                    Conditions.Set(list, ConditionTypes.Succeeded, true, reason, message, Generation, now);
                    break;
                case JobPhases.Failed:
                    Conditions.Set(list, ConditionTypes.Failed, true, reason, message, Generation, now);
                    break;
                case JobPhases.Suspended:
                    Conditions.Set(list, ConditionTypes.Suspended, true, reason, message, Generation, now);
                    break;
            }
        }

        private void Requeue(TimeSpan after)
        {
            if (after < TimeSpan.Zero)
            {
                after = TimeSpan.Zero;
            }

            RequeueAfter = RequeueAfter is { } existing && existing < after ? existing : after;
        }

        private string ResumeText() =>
            Status.ResumeFrom is { } r
                ? $"resumes from {r.Location} (global step {r.GlobalStep}{(r.Epoch is null ? "" : $", epoch {r.Epoch}, step in epoch {r.StepInEpoch}")})"
                : "starts from the beginning (no uploaded checkpoint)";

        private string AccuracyText() => Status.TestAccuracy is { } a ? $", test accuracy {a.ToString("0.####", CultureInfo.InvariantCulture)}" : "";

        private static bool HasFinalizer(V1Pod pod) => pod.Metadata?.Finalizers?.Contains(WellKnown.TrackingFinalizer) == true;
    }
}
