using K8sTraining.Training.Loop;

namespace K8sTraining.Training.Resume;

/// <summary>
/// How the epoch in progress is cut into batches from where the run stands in it. The sample position (samples of the
/// epoch's permutation done) is what a resume continues from: with the batch size the epoch started with it is
/// step * batch size and the epoch is cut as always; after a --batch-size change mid-epoch the rest of the epoch is
/// re-cut from the sample position, so it may hold a different number of batches. Pure, so a second resume inside the
/// re-cut epoch cuts it the same.
/// </summary>
public static class EpochPosition
{
    /// <summary>The sample position of a checkpoint: its own field, or (written before it existed) step * its batch size.</summary>
    public static int SampleInEpoch(TrainingState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        // Before the field, a saved position was always a whole number of full batches into the epoch.
        return state.SampleInEpoch ?? checked(state.StepInEpoch * state.Configuration.BatchSize);
    }

    /// <summary>
    /// The optimizer-step plan of the epoch in progress: <paramref name="regular"/> when the position is where the regular
    /// cut puts it, else the re-cut epoch's (its batch count, and the shift that keeps the schedule at the sample position).
    /// </summary>
    /// <param name="regular">The plan of a whole epoch at the current batch size.</param>
    /// <param name="count">Samples the epoch permutes.</param>
    /// <param name="batchSize">The current batch size.</param>
    /// <param name="stepInEpoch">Batches done in the epoch.</param>
    /// <param name="sampleInEpoch">Samples done in the epoch.</param>
    public static OptimizerStepPlan PlanFor(OptimizerStepPlan regular, int count, int batchSize, int stepInEpoch, int sampleInEpoch)
    {
        ArgumentNullException.ThrowIfNull(regular);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        if ((long)stepInEpoch * batchSize == sampleInEpoch && (count + batchSize - 1) / batchSize == regular.BatchesPerEpoch)
        {
            return regular;
        }
        var batches = stepInEpoch + ((count - sampleInEpoch + batchSize - 1) / batchSize);
        // The schedule reads the batch the sample position falls in under the regular cut (sample / batch size), so a
        // re-cut epoch follows the same curve as an epoch cut at the new batch size from its start.
        return regular with { EpochBatches = batches, StepShift = (sampleInEpoch / batchSize) - stepInEpoch };
    }
}
