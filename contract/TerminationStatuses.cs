namespace K8sTraining.Contract;

/// <summary>Values of the termination message's <c>status</c>.</summary>
public static class TerminationStatuses
{
    /// <summary>Training finished (exit 0).</summary>
    public const string Completed = "completed";

    /// <summary>Stopped by a signal after a durable checkpoint (exit 75).</summary>
    public const string Preempted = "preempted";

    /// <summary>A failure (exit 1), or the checkpoint store was unreachable (exit 69).</summary>
    public const string Failed = "failed";

    /// <summary>The configuration cannot be used (exit 2).</summary>
    public const string Invalid = "invalid";

    /// <summary>A newer attempt of the same job owns the checkpoint prefix; this one stopped (exit 76).</summary>
    public const string Superseded = "superseded";
}
