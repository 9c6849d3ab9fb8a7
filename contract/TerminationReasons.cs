namespace K8sTraining.Contract;

/// <summary>Values of the termination message's <c>reason</c> (PascalCase, as Kubernetes condition reasons); null otherwise.</summary>
public static class TerminationReasons
{
    /// <summary>Exit 2: a flag, a file or a directory the user gave cannot be used.</summary>
    public const string InvalidConfiguration = "InvalidConfiguration";

    /// <summary>Exit 2: the checkpoint prefix belongs to another job (its <c>owner.json</c> names another uid).</summary>
    public const string CheckpointPrefixInUse = "CheckpointPrefixInUse";

    /// <summary>Exit 69: the remote checkpoint store stayed unreachable through the start-up retry budget.</summary>
    public const string StorageUnavailable = "StorageUnavailable";

    /// <summary>Exit 76: a newer attempt of the same job fenced the checkpoint prefix or committed to it; this attempt is stale.</summary>
    public const string Superseded = "Superseded";

    /// <summary>Exit 75: the trainer checkpointed and stopped before its deadline (<see cref="TrainerEnvironment.Deadline"/>).</summary>
    public const string DeadlineExceeded = "DeadlineExceeded";

    /// <summary>Exit 77: a data-parallel peer vanished mid-step (see <see cref="TrainerExitCodes.PeerLost"/>).</summary>
    public const string PeerLost = "PeerLost";
}
