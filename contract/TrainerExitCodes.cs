namespace K8sTraining.Contract;

/// <summary>The trainer's exit codes: how the operator tells a finished, a preempted and a failed attempt apart.</summary>
public static class TrainerExitCodes
{
    /// <summary>Training finished.</summary>
    public const int Completed = 0;

    /// <summary>A failure during training (counted against maxRestarts).</summary>
    public const int Failed = 1;

    /// <summary>A flag, a file, a directory or the checkpoint prefix cannot be used: retrying will not help.</summary>
    public const int InvalidConfiguration = 2;

    /// <summary>
    /// EX_UNAVAILABLE: the remote checkpoint store could not be reached during start-up or restore within the start-up
    /// retry budget. Infrastructure trouble, not the job's failure: retried with backoff, never counted as a failure.
    /// </summary>
    public const int StorageUnavailable = 69;

    /// <summary>EX_TEMPFAIL: interrupted (SIGTERM) after a durable checkpoint; a replacement resumes from it.</summary>
    public const int Interrupted = 75;

    /// <summary>
    /// A newer attempt of the same job has taken over the checkpoint prefix (its fence or its commit of latest.json was
    /// found): this attempt is stale (a zombie on a partitioned node, say), stopped uploading and exited. The operator
    /// treats it as the preemption of a stale attempt, never as a failure.
    /// </summary>
    public const int Superseded = 76;

    /// <summary>
    /// A data-parallel rank lost a peer without an agreed stop (the peer was killed, crashed or partitioned): the
    /// collective failed mid-step, so this rank wrote nothing and exited. Never this rank's failure: the operator
    /// accounts the attempt by the worker that really ended it.
    /// </summary>
    public const int PeerLost = 77;
}
