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

    /// <summary>
    /// Not deleted; its trainer has exited while another container (a native sidecar flushing its uploads) still
    /// runs: the attempt ends when the pod does.
    /// </summary>
    Finishing,

    Ended,
}

/// <summary>How an ended attempt is classified: drives preemption vs failure accounting.</summary>
/// <param name="Termination">The trainer's termination message.</param>
/// <param name="SyncTermination">The checkpoint-sync sidecar's termination message (status null), when the pod has one.</param>
public sealed record PodOutcome(string Outcome, string Reason, int? ExitCode, string Message, TerminationMessage? Termination, TerminationMessage? SyncTermination = null)
{
    public bool IsPreemption => Outcome == AttemptOutcomes.Preempted;
}
