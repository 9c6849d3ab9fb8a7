using K8sTraining.Contract;
using K8sTraining.Operator.Api;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>What a trainer pod is doing, or how it ended.</summary>
public enum PodState
{
    /// <summary>Created, not running yet.</summary>
    Pending,

    Running,

    /// <summary>Has a deletionTimestamp and its trainer is still shutting down.</summary>
    Terminating,

    Ended,
}

/// <summary>How an ended attempt is classified: drives preemption vs failure accounting.</summary>
public sealed record PodOutcome(string Outcome, string Reason, int? ExitCode, string Message, TerminationMessage? Termination)
{
    public bool IsPreemption => Outcome == AttemptOutcomes.Preempted;
}
