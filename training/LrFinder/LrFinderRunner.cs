using K8sTraining.Training.Data;
using K8sTraining.Training.Loop;
using K8sTraining.Training.Optimization;
using K8sTraining.Training.Options;
using K8sTraining.Training.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace K8sTraining.Training.LrFinder;

/// <summary>The sweep's points (smoothed, up to divergence) and the suggested learning rate (null when the loss never fell).</summary>
public sealed record LrFinderResult(IReadOnlyList<LrFinderPoint> Points, double? Suggestion);

/// <summary>
/// Runs the learning-rate range test (<see cref="LrFinderSweep"/>, <see cref="LrFinderRule"/>) on the model it is given
/// (a throwaway copy): batches of epoch 0's order with training augmentation, the run's optimizer, the learning rate
/// rising exponentially each step. Torch's global random state is saved before and restored after, so a run with
/// <c>--lr auto</c> trains exactly as one given the suggestion with <c>--lr</c>.
/// </summary>
public static class LrFinderRunner
{
    public static LrFinderResult Run(nn.Module<Tensor, Tensor> model, ITrainingDataset train, LossFunction loss, TrainerOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(options);
        var sweep = new LrFinderSweep(options.LrFindStart, options.LrFindEnd, options.LrFindSteps);
        using var randomState = torch.random.get_rng_state();
        var raw = new List<(double, double)>(sweep.Steps);
        try
        {
            using var optimizer = new OptimizerSettings(options.Optimizer, sweep.StartLearningRate, options.Momentum, options.Nesterov, options.WeightDecay)
                .Create(model.parameters().Where(p => p.requires_grad));
            model.train();
            var epoch = 0;
            while (raw.Count < sweep.Steps && !cancellationToken.IsCancellationRequested)
            {
                using var loader = new BatchLoader(train, EpochSampler.Permutation(options.Seed, epoch, train.Count), options.BatchSize, 0, epoch, options.Seed, train: true, options.LoaderWorkers, options.PrefetchBatches);
                for (var s = 0; s < loader.Steps && raw.Count < sweep.Steps; s++)
                {
                    var batch = loader.Next();
                    var lr = sweep.LearningRateAt(raw.Count);
                    double value;
                    using (var scope = NewDisposeScope())
                    {
                        var (input, target) = batch.ToTensors(train.SampleShape);
                        OptimizerSettings.Apply(optimizer, lr, null);
                        optimizer.zero_grad();
                        var l = loss(model.forward(input), target);
                        l.backward();
                        optimizer.step();
                        value = l.item<float>();
                    }
                    loader.Return(batch);
                    raw.Add((lr, value));
                    if (!double.IsFinite(value) || Diverged(LrFinderRule.Smooth(raw), raw.Count))
                    {
                        // Diverged: the rest of the sweep would only add noise.
                        return Result(raw);
                    }
                }
                epoch++;
            }
            return Result(raw);
        }
        finally
        {
            torch.random.set_rng_state(randomState);
        }
    }

    private static bool Diverged(IReadOnlyList<LrFinderPoint> points, int steps) =>
        points.Count < steps || points[^1].SmoothedLoss > LrFinderRule.DivergenceFactor * points.Min(p => p.SmoothedLoss);

    private static LrFinderResult Result(List<(double, double)> raw)
    {
        var points = LrFinderRule.Smooth(raw);
        return new LrFinderResult(points, LrFinderRule.Suggest(points));
    }
}
