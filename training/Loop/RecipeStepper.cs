using K8sTraining.Training.Optimization;
using K8sTraining.Training.Regularization;
using K8sTraining.Training.Schedules;
using K8sTraining.Training.Tasks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace K8sTraining.Training.Loop;

/// <summary>What one training batch did: its loss (unscaled), the samples it got right, and what the optimizer used.</summary>
public readonly record struct BatchResult(double Loss, long Correct, double LearningRate, double? Momentum, string MixingMode);

/// <summary>
/// One training batch under the recipe: at the start of an optimizer step the schedule's learning rate and momentum;
/// mixing (mixup/CutMix) with randomness seeded by (seed, global step); label smoothing on unmixed batches; the loss
/// divided over the accumulation group; at the group's end clipping, the optimizer step and the EMA update. Everything
/// it decides is a function of the position and the checkpointed state, so a resume repeats it exactly.
/// </summary>
public sealed class RecipeStepper(
    nn.Module<Tensor, Tensor> model,
    OptimizerHelper optimizer,
    IReadOnlyList<Parameter> trainable,
    LossFunction loss,
    LossFunction? smoothedLoss,
    BatchMixing mixing,
    int mixUntilEpoch,
    ExponentialMovingAverage? ema,
    LearningRateSchedule schedule,
    OptimizerStepPlan plan,
    double gradClipNorm,
    long seed,
    long scheduleOffset = 0,
    double learningRateScale = 1)
{
    private ScheduledValues _current;

    /// <summary>The plan of the epoch being trained (a resume re-cuts the epoch in progress after a batch-size change).</summary>
    public OptimizerStepPlan Plan { get; set; } = plan;

    /// <summary>Data parallel: sums the gradients over the ranks at the end of each optimizer step, before clipping; null: one process.</summary>
    public K8sTraining.Training.Distributed.GradientBuckets? Gradients { get; set; }

    /// <summary>Whether batches of <paramref name="epoch"/> may be mixed (off for the last --mix-off-last-epochs).</summary>
    public bool MixesIn(int epoch) => mixing.Enabled && epoch < mixUntilEpoch;

    /// <summary>The learning rate and momentum of the optimizer step that batch (<paramref name="epoch"/>, <paramref name="stepInEpoch"/>) belongs to.</summary>
    /// <remarks>
    /// A staged run's stepper counts epochs from its stage's start; with one schedule over all the stages, the position
    /// is offset by the earlier stages' optimizer steps and the stage's learning-rate scale applied.
    /// </remarks>
    public ScheduledValues ValuesAt(int epoch, int stepInEpoch)
    {
        var values = schedule.At(scheduleOffset + Plan.OptimizerStep(epoch, stepInEpoch));
        return learningRateScale == 1 ? values : values with { LearningRate = values.LearningRate * learningRateScale };
    }

    /// <summary>Trains one batch (its loss, backward; at the end of its optimizer-step group the synchronised step).</summary>
    /// <param name="batch">The batch's samples.</param>
    /// <param name="sampleShape">One sample's shape.</param>
    /// <param name="epoch">The epoch, counted from the stage's start.</param>
    /// <param name="stepInEpoch">The batch's step in the epoch.</param>
    /// <param name="globalStep">The run's global step (seeds the mixing).</param>
    /// <param name="lossWeight">
    /// Data parallel: this rank's share of the global batch (local / global samples), by which its loss is weighted so
    /// the gradients summed over the ranks are the global batch's mean; 1 for one process. A rank with no samples in
    /// the step (an empty <paramref name="batch"/>) runs a weight-0 placeholder, so its gradients are zeros of the
    /// same parameters as every other rank's.
    /// </param>
    public BatchResult Train(LoadedBatch batch, IReadOnlyList<long> sampleShape, int epoch, int stepInEpoch, long globalStep, double lossWeight = 1)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (Plan.StartsGroup(stepInEpoch))
        {
            _current = ValuesAt(epoch, stepInEpoch);
            OptimizerSettings.Apply(optimizer, _current.LearningRate, _current.Momentum);
            optimizer.zero_grad();
        }
        using var scope = NewDisposeScope();
        var empty = batch.Count == 0;
        // Two placeholder samples: BatchNorm refuses one in training mode.
        var (input, target) = empty ? (zeros([2, .. sampleShape]), zeros([2], ScalarType.Int64)) : batch.ToTensors(sampleShape);
        // No GC may run during the step (see NoGcRegion); its managed allocations are small.
        NoGcRegion.EnsureEntered();
        var mixed = MixesIn(epoch) && !empty
            ? mixing.Apply(input, target, new StepRandom(seed, globalStep))
            : new MixedBatch(input, target, target, 1.0, MixingModes.None);
        var output = model.forward(mixed.Input);
        var lossFunction = mixed.Mode == MixingModes.None && smoothedLoss is not null ? smoothedLoss : loss;
        var batchLoss = mixed.Loss(output, (o, t) => lossFunction(o, t));
        var groupSize = Plan.GroupSize(stepInEpoch);
        var scaled = groupSize == 1 ? batchLoss : batchLoss / groupSize;
        (empty ? scaled * 0.0 : lossWeight == 1 ? scaled : scaled * lossWeight).backward();
        if (Plan.EndsGroup(stepInEpoch))
        {
            Gradients?.AllReduce();
            if (gradClipNorm > 0)
            {
                nn.utils.clip_grad_norm_(trainable, gradClipNorm);
            }
            optimizer.step();
            ema?.Update();
        }
        long correct;
        using (no_grad())
        {
            correct = empty ? 0 : output.argmax(1).eq(target).sum().item<long>();
        }
        return new BatchResult(empty ? 0 : batchLoss.item<float>(), correct, _current.LearningRate, _current.Momentum ?? OptimizerSettings.CurrentMomentum(optimizer), mixed.Mode);
    }
}
