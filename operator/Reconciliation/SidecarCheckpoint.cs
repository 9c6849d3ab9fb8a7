using K8sTraining.Contract;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>
/// With the checkpoint-sync sidecar, the trainer knows only its local step directories; the sidecar's termination
/// message says what was committed. When the trainer's own message names no committed checkpoint, the sidecar's
/// checkpoint (its location, whether it was uploaded, and its position) stands in for it, so the resume point and
/// status.lastCheckpoint come from what really reached the store.
/// </summary>
public static class SidecarCheckpoint
{
    /// <summary>The trainer's message with the sidecar's committed checkpoint where the trainer's has none; either alone when the other is null.</summary>
    public static TerminationMessage? Merge(TerminationMessage? trainer, TerminationMessage? sidecar)
    {
        if (sidecar is null || string.IsNullOrEmpty(sidecar.Checkpoint) || Committed(trainer))
        {
            return trainer;
        }

        if (trainer is null)
        {
            // A trainer that wrote no message (killed, or one that never writes it): the sidecar's position is the last known.
            return sidecar with { Status = null, Best = null, Stage = null, Lineage = null, TestAccuracy = null };
        }

        // The position stays the trainer's (it may be past the last checkpoint); the checkpoint is the sidecar's, at its own
        // position, which ApplyTermination reads from the checkpoint's name when the two differ.
        return trainer with
        {
            Checkpoint = sidecar.Checkpoint,
            CheckpointUploaded = sidecar.CheckpointUploaded,
            GlobalStep = trainer.GlobalStep ?? sidecar.GlobalStep,
            Epoch = trainer.GlobalStep is null ? sidecar.Epoch : trainer.Epoch,
            StepInEpoch = trainer.GlobalStep is null ? sidecar.StepInEpoch : trainer.StepInEpoch,
            // The sidecar did the restore: where the attempt resumed in the store is its to say.
            ResumedFrom = trainer.ResumedFrom ?? sidecar.ResumedFrom,
        };
    }

    /// <summary>The message whose position is the checkpoint's: the sidecar's when its checkpoint stands in for the trainer's, else null (the trainer's own).</summary>
    public static TerminationMessage? CheckpointSource(TerminationMessage? trainer, TerminationMessage? sidecar) =>
        sidecar is { Checkpoint.Length: > 0 } && !Committed(trainer) ? sidecar : null;

    /// <summary>True when the message names a checkpoint committed in the remote store.</summary>
    public static bool Committed(TerminationMessage? message) =>
        message is { Checkpoint.Length: > 0 } m && CheckpointLayout.IsRemote(m.Checkpoint) && m.CheckpointUploaded != false;
}
