namespace K8sTraining.Training.Loop;

/// <summary>
/// How a training attempt ended, in the loop's own terms. The position, resume point and checkpoints are in the
/// attempt's <see cref="AttemptRecord"/>; Hosting turns both into an exit code and a termination message in one place.
/// </summary>
public abstract record TrainingOutcome(string Message)
{
    /// <summary>Every epoch trained; the final checkpoint (when there is a checkpoint directory) written and flushed.</summary>
    public sealed record Completed(string Message) : TrainingOutcome(Message);

    /// <summary>Stopped by a signal after checkpointing where it stood: a replacement resumes from there.</summary>
    public sealed record Interrupted(string Message) : TrainingOutcome(Message);

    /// <summary>Stopped before its --deadline after checkpointing where it stood (or with nothing to train when it had passed already): a run with a later deadline resumes from there.</summary>
    public sealed record DeadlineExceeded(string Message) : TrainingOutcome(Message);

    /// <summary>Stopped by a signal with nowhere to checkpoint (no --checkpoint-dir): the progress is lost.</summary>
    public sealed record StoppedWithoutCheckpoint(string Message) : TrainingOutcome(Message);

    /// <summary>A newer attempt of the job owns the checkpoints; this one stopped uploading.</summary>
    public sealed record Superseded(string Message) : TrainingOutcome(Message);

    /// <summary>An error the user must fix (the configuration, the input, the checkpoint prefix), with its reason.</summary>
    public sealed record Invalid(string Message, string Reason) : TrainingOutcome(Message);

    /// <summary>The checkpoint storage could not be reached within the retry budget.</summary>
    public sealed record StorageUnavailable(string Message) : TrainingOutcome(Message);

    /// <summary>Data parallel: a peer rank vanished mid-step (killed, crashed, partitioned); this rank wrote nothing.</summary>
    public sealed record PeerLost(string Message) : TrainingOutcome(Message);

    /// <summary>Any other error (a full disk, say).</summary>
    public sealed record Failed(string Message) : TrainingOutcome(Message);
}
