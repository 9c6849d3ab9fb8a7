namespace K8sTraining.Contract;

/// <summary>
/// How the trainer writes its periodic checkpoints (<c>--checkpoint-write</c>, TRAINER_CHECKPOINT_WRITE). A SIGTERM's
/// checkpoint is always written before the exit; the choice only matters to a hard kill.
/// </summary>
public static class CheckpointWriteModes
{
    /// <summary>
    /// On a background thread while training goes on (the default): a step costs only the in-memory snapshot, and a hard
    /// kill during the write loses that checkpoint too, so up to the interval plus the steps trained during the write.
    /// </summary>
    public const string Background = "background";

    /// <summary>In the training loop, before the next step: a hard kill loses at most the checkpoint interval.</summary>
    public const string Sync = "sync";

    /// <summary>Every mode, in the order help texts list them.</summary>
    public static readonly IReadOnlyList<string> All = [Background, Sync];
}
