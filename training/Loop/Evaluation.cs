using K8sTraining.Training.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace K8sTraining.Training.Loop;

/// <summary>What one pass over an evaluation split measured.</summary>
/// <param name="Accuracy">The fraction of samples whose highest output is their label.</param>
/// <param name="ClassAccuracy">Per class (by label), the accuracy over its samples; null for a class with none.</param>
/// <param name="Metrics">The task's extra metrics by name.</param>
/// <param name="Loss">Mean plain cross-entropy over the samples whose label is one of the classes; null when none is.</param>
public sealed record EvaluationResult(double Accuracy, IReadOnlyList<double?> ClassAccuracy, IReadOnlyDictionary<string, double> Metrics, double? Loss = null);

/// <summary>
/// Evaluates a model over a split in eval mode without gradients and without any random numbers (samples are filled
/// with <c>Train: false</c>), so an evaluation never changes what training does next.
/// </summary>
public static class Evaluation
{
    /// <summary>At most this many floats of input per evaluation batch (1000 samples of 28x28, fewer of larger images).</summary>
    private const int BatchFloats = 1000 * 784;

    private const int MaxBatch = 1000;

    public static EvaluationResult Run(nn.Module<Tensor, Tensor> model, ITrainingDataset data, int classes, IReadOnlyList<IEvaluationMetric> metrics, long seed, int epoch, int workers, int prefetch)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(metrics);
        var sampleSize = (int)data.SampleShape.Aggregate(1L, (a, b) => a * b);
        var batchSize = Math.Clamp(BatchFloats / Math.Max(sampleSize, 1), 1, MaxBatch);
        var correctByClass = new long[classes];
        var totalByClass = new long[classes];
        long correct = 0;
        var lossSum = 0.0;
        long lossSamples = 0;
        foreach (var metric in metrics)
        {
            metric.Reset();
        }
        model.eval();
        try
        {
            using var loader = new BatchLoader(data, null, batchSize, 0, epoch, seed, train: false, workers, Math.Min(prefetch, 1));
            using (torch.no_grad())
            {
                for (var step = 0; step < loader.Steps; step++)
                {
                    var batch = loader.Next();
                    using (var scope = NewDisposeScope())
                    {
                        var n = batch.Count;
                        var (input, target) = batch.ToTensors(data.SampleShape);
                        var output = model.forward(input);
                        var predicted = output.argmax(1).data<long>().ToArray();
                        for (var k = 0; k < n; k++)
                        {
                            var label = batch.Labels[k];
                            var hit = predicted[k] == label;
                            correct += hit ? 1 : 0;
                            if (label >= 0 && label < classes)
                            {
                                totalByClass[label]++;
                                correctByClass[label] += hit ? 1 : 0;
                            }
                        }
                        foreach (var metric in metrics)
                        {
                            metric.Update(output, target);
                        }
                        if (batch.Labels.AsSpan(0, n).ToArray().All(l => l >= 0 && l < classes) && output.shape[1] == classes)
                        {
                            lossSum += nn.functional.cross_entropy(output, target, reduction: nn.Reduction.Sum).item<float>();
                            lossSamples += n;
                        }
                    }
                    loader.Return(batch);
                }
            }
        }
        finally
        {
            model.train();
        }
        var perClass = Enumerable.Range(0, classes).Select(c => totalByClass[c] == 0 ? (double?)null : (double)correctByClass[c] / totalByClass[c]).ToArray();
        return new EvaluationResult(data.Count == 0 ? 0 : (double)correct / data.Count, perClass, metrics.ToDictionary(m => m.Name, m => m.Result(), StringComparer.Ordinal), lossSamples == 0 ? null : lossSum / lossSamples);
    }
}
