using K8sTraining.Training.Data;
using K8sTraining.Training.Loop;
using K8sTraining.Training.Optimization;
using K8sTraining.Training.Options;
using K8sTraining.Training.Tasks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace K8sTraining.Training.LrFinder;

/// <summary>What a sweep measured: each step's learning rate and (smoothed) loss, up to divergence, and the suggestion.</summary>
public sealed record LrFinderResult(IReadOnlyList<LrFinderPoint> Points, double? Suggestion);

/// <summary>
/// Runs the learning-rate range test (<see cref="LrFinderSweep"/>, <see cref="LrFinderRule"/>) on the model it is given,
/// which it trains: pass a throwaway copy. The batches are those training would start with: epoch 0's permutation of the
/// training split (repeated when the split holds fewer than steps x batch size samples), filled with training
/// augmentation by the real <see cref="BatchLoader"/>. The torch global RNG is saved before and restored after, so a run
/// with <c>--lr auto</c> trains exactly as one given the suggestion with <c>--lr</c>.
/// </summary>
public static class LrFinderRunner
{
    /// <summary>
    /// Sweeps <c>options.LrFindSteps</c> optimizer steps from <c>LrFindStart</c> to <c>LrFindEnd</c>, stopping at
    /// divergence. A cancelled sweep throws <see cref="OperationCanceledException"/> (the RNG is restored first).
    /// </summary>
    public static LrFinderResult Run(nn.Module<Tensor, Tensor> model, ITrainingDataset train, LossFunction loss, TrainerOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(options);
        if (train.Count == 0)
        {
            throw new InvalidInputException("The LR finder has no training samples to sweep on; give the data set training samples.");
        }
        var sweep = new LrFinderSweep(options.LrFindStart, options.LrFindEnd, options.LrFindSteps);
        using var savedRng = torch.random.get_rng_state();
        try
        {
            return Sweep(model, train, loss, options, sweep, cancellationToken);
        }
        finally
        {
            torch.random.set_rng_state(savedRng);
        }
    }

    /// <summary>The sample index of each position of the sweep: epoch 0's permutation, repeated to fill every step.</summary>
    public static int[] Order(long seed, int count, int steps, int batchSize)
    {
        var permutation = EpochSampler.Permutation(seed, 0, count);
        var order = new int[checked(steps * batchSize)];
        for (var k = 0; k < order.Length; k++)
        {
            order[k] = permutation[k % count];
        }
        return order;
    }

    private static LrFinderResult Sweep(nn.Module<Tensor, Tensor> model, ITrainingDataset train, LossFunction loss, TrainerOptions options, LrFinderSweep sweep, CancellationToken cancellationToken)
    {
        var settings = new OptimizerSettings(options.Optimizer, sweep.LearningRateAt(0), options.Momentum, options.Nesterov, options.WeightDecay);
        // Frozen parameters (--freeze) stay out of the optimizer and the clipping, as in training.
        var trainable = model.parameters().Where(p => p.requires_grad).ToList();
        using var optimizer = settings.Create(trainable);
        var raw = new List<(double LearningRate, double Loss)>(sweep.Steps);
        IReadOnlyList<LrFinderPoint> points = [];
        model.train();
        using (var loader = new BatchLoader(train, Order(options.Seed, train.Count, sweep.Steps, options.BatchSize), options.BatchSize, 0, 0, options.Seed, train: true, options.LoaderWorkers, options.PrefetchBatches))
        {
            for (var i = 0; i < sweep.Steps; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var learningRate = sweep.LearningRateAt(i);
                var batch = loader.Next();
                var value = Step(model, optimizer, trainable, loss, batch, train.SampleShape, learningRate, options.GradClipNorm);
                loader.Return(batch);
                raw.Add((learningRate, value));
                points = LrFinderRule.Smooth(raw);
                if (Diverged(points, raw.Count))
                {
                    break;
                }
            }
        }
        return new LrFinderResult(points, LrFinderRule.Suggest(points, options.LrFindRule));
    }

    /// <summary>True once the last loss is not finite or its smoothed value passed the rule's divergence bound.</summary>
    private static bool Diverged(IReadOnlyList<LrFinderPoint> points, int steps) =>
        points.Count < steps || points.Count == 0
        || points[^1].SmoothedLoss > LrFinderRule.DivergenceFactor * points.Min(p => p.SmoothedLoss);

    private static double Step(nn.Module<Tensor, Tensor> model, OptimizerHelper optimizer, IReadOnlyList<Parameter> trainable, LossFunction lossFunction, LoadedBatch batch, IReadOnlyList<long> sampleShape, double learningRate, double gradClipNorm)
    {
        using var scope = NewDisposeScope();
        var (input, target) = batch.ToTensors(sampleShape);
        // As in the training step: no GC while native calls run (see NoGcRegion).
        NoGcRegion.EnsureEntered();
        OptimizerSettings.Apply(optimizer, learningRate, momentum: null);
        optimizer.zero_grad();
        var loss = lossFunction(model.forward(input), target);
        loss.backward();
        if (gradClipNorm > 0)
        {
            nn.utils.clip_grad_norm_(trainable, gradClipNorm);
        }
        optimizer.step();
        return loss.item<float>();
    }
}
