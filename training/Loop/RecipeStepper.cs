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

    public BatchResult Train(LoadedBatch batch, IReadOnlyList<long> sampleShape, int epoch, int stepInEpoch, long globalStep)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (Plan.StartsGroup(stepInEpoch))
        {
            _current = ValuesAt(epoch, stepInEpoch);
            OptimizerSettings.Apply(optimizer, _current.LearningRate, _current.Momentum);
            optimizer.zero_grad();
        }
        using var scope = NewDisposeScope();
        var (input, target) = batch.ToTensors(sampleShape);
        // No GC may run during the step (see NoGcRegion); its managed allocations are small.
        NoGcRegion.EnsureEntered();
        var mixed = MixesIn(epoch)
            ? mixing.Apply(input, target, new StepRandom(seed, globalStep))
            : new MixedBatch(input, target, target, 1.0, MixingModes.None);
        var output = model.forward(mixed.Input);
        var lossFunction = mixed.Mode == MixingModes.None && smoothedLoss is not null ? smoothedLoss : loss;
        var batchLoss = mixed.Loss(output, (o, t) => lossFunction(o, t));
        var groupSize = Plan.GroupSize(stepInEpoch);
        (groupSize == 1 ? batchLoss : batchLoss / groupSize).backward();
        if (Plan.EndsGroup(stepInEpoch))
        {
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
            correct = output.argmax(1).eq(target).sum().item<long>();
        }
        return new BatchResult(batchLoss.item<float>(), correct, _current.LearningRate, _current.Momentum ?? OptimizerSettings.CurrentMomentum(optimizer), mixed.Mode);
    }
}
