namespace K8sTraining.Training.Loop;

/// <summary>
/// How batches group into optimizer steps with <c>--grad-accumulation-steps</c>: an epoch's batches in groups of
/// <see cref="Accumulation"/>, the last group of an epoch possibly shorter. Positions stay batch positions (global step,
/// step in epoch); a stop or a checkpoint happens only between groups, so no gradient is ever half-summed in a
/// checkpoint. A pure function of the position, so a resumed run steps exactly as the uninterrupted one.
/// </summary>
/// <param name="BatchesPerEpoch">Batches of a whole epoch at the current batch size.</param>
/// <param name="Accumulation">Batches per optimizer step.</param>
/// <param name="EpochBatches">The batches of this epoch when it was re-cut by a resume (Resume.EpochPosition); 0: <see cref="BatchesPerEpoch"/>.</param>
/// <param name="StepShift">Added to a re-cut epoch's batch number where the schedule reads it, so it reads the sample position's batch.</param>
public sealed record OptimizerStepPlan(int BatchesPerEpoch, int Accumulation, int EpochBatches = 0, int StepShift = 0)
{
    /// <summary>The batches of the epoch this plan steps through.</summary>
    public int Batches => EpochBatches > 0 ? EpochBatches : BatchesPerEpoch;

    /// <summary>Optimizer steps in one epoch.</summary>
    public int OptimizerStepsPerEpoch => (BatchesPerEpoch + Accumulation - 1) / Accumulation;

    /// <summary>True when batch <paramref name="stepInEpoch"/> (0-based) starts a group: the only places a run may stop or checkpoint.</summary>
    public bool StartsGroup(int stepInEpoch) => stepInEpoch % Accumulation == 0;

    /// <summary>True when batch <paramref name="stepInEpoch"/> ends its group: the optimizer steps after it.</summary>
    public bool EndsGroup(int stepInEpoch) => (stepInEpoch + 1) % Accumulation == 0 || stepInEpoch + 1 == Batches;

    /// <summary>The batches in the group of batch <paramref name="stepInEpoch"/> (each batch's loss is divided by it).</summary>
    public int GroupSize(int stepInEpoch)
    {
        var start = stepInEpoch - (stepInEpoch % Accumulation);
        return Math.Min(Accumulation, Batches - start);
    }

    /// <summary>The 0-based optimizer step that batch <paramref name="stepInEpoch"/> of <paramref name="epoch"/> contributes to (the schedule's step).</summary>
    public long OptimizerStep(int epoch, int stepInEpoch) => ((long)epoch * OptimizerStepsPerEpoch) + ((stepInEpoch + StepShift) / Accumulation);
}
