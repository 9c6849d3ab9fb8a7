using K8sTraining.Operator.Api;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>A write the reconciler shell performs after (or, for <see cref="CreatePod"/>, before) the status write.</summary>
public abstract record JobAction;

/// <summary>
/// Create the trainer pod of this attempt (deterministic name, so a repeat is a harmless 409), with what the decider
/// worked out for it; with <paramref name="Workers"/> &gt; 1, all the attempt's worker pods together.
/// </summary>
public sealed record CreatePod(int Attempt, K8sTraining.Operator.Pods.AttemptInputs? Inputs = null, int Workers = 1) : JobAction;

/// <summary>Make sure the headless Service of a multi-worker job exists (created, or adopted when nobody owns it) before its pods are created.</summary>
public sealed record EnsureWorkerService : JobAction;

/// <summary>Delete a pod gracefully (its grace period lets the trainer checkpoint).</summary>
public sealed record DeletePod(string Name, string Why) : JobAction;

/// <summary>Remove the tracking finalizer once the pod's end is recorded in status.</summary>
public sealed record ReleasePod(string Name) : JobAction;

/// <summary>Delete the TrainingJob itself (ttlSecondsAfterFinished).</summary>
public sealed record DeleteJob : JobAction;

/// <summary>A core/v1 Event to record on the TrainingJob.</summary>
public sealed record JobEvent(string Type, string Reason, string Message)
{
    public static JobEvent Normal(string reason, string message) => new("Normal", reason, message);

    public static JobEvent Warning(string reason, string message) => new("Warning", reason, message);
}

/// <summary>
/// The outcome of one pure decision: the new status, the writes to make, the Events, when to look again, and what the
/// pods showed about disruption (for the recovery metric).
/// </summary>
public sealed record Decision(TrainingJobStatus Status, IReadOnlyList<JobAction> Actions, IReadOnlyList<JobEvent> Events, TimeSpan? RequeueAfter, DisruptionSeen? Disruption = null);
