namespace K8sTraining.Training.Loop;

/// <summary>How an attempt ended, for the closing block of the text log and the artifacts' last upload.</summary>
/// <param name="Completed">True when the run finished its epochs; false when a signal stopped it (it resumes later).</param>
/// <param name="GlobalStep">The global step it ended at.</param>
/// <param name="Epoch">The epoch it ended in (0-based; equal to the epochs of the run when completed).</param>
/// <param name="StepInEpoch">Steps done in that epoch.</param>
/// <param name="LastCheckpoint">The last checkpoint written (its local directory), null without --checkpoint-dir.</param>
/// <param name="TestAccuracy">The final test accuracy (a completed run only; the test split is read at the end).</param>
/// <param name="WallSeconds">Training seconds across all attempts up to here (TrainingState.TrainingSeconds).</param>
/// <param name="Best">The best checkpoint, when the run keeps one.</param>
public sealed record TrainingEnd(
    bool Completed,
    long GlobalStep,
    int Epoch,
    int StepInEpoch,
    string? LastCheckpoint,
    double? TestAccuracy,
    double? WallSeconds,
    K8sTraining.Contract.BestCheckpoint? Best);
