using K8sTraining.Training.Tasks;
using static TorchSharp.torch;

namespace K8sTraining.Training.Commands;

/// <summary>
/// Counts, over an evaluation pass, the confusion matrix (actual class by row, predicted by column) and the mean loss
/// per sample; it rides along <see cref="Loop.Evaluation"/> as one of its metrics.
/// </summary>
public sealed class EvaluationTally(int classes, LossFunction loss) : IEvaluationMetric
{
    private double _lossSum;

    public string Name => "loss";

    /// <summary>[actual, predicted] sample counts.</summary>
    public long[,] Confusion { get; } = new long[classes, classes];

    public long Samples { get; private set; }

    public void Reset()
    {
        Array.Clear(Confusion);
        _lossSum = 0;
        Samples = 0;
    }

    public void Update(Tensor output, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(target);
        var n = target.shape[0];
        _lossSum += loss(output, target).item<float>() * n;
        Samples += n;
        var predicted = output.argmax(1).data<long>().ToArray();
        var actual = target.data<long>().ToArray();
        for (var k = 0; k < actual.Length; k++)
        {
            if (actual[k] >= 0 && actual[k] < classes && predicted[k] >= 0 && predicted[k] < classes)
            {
                Confusion[actual[k], predicted[k]]++;
            }
        }
    }

    /// <summary>The mean loss per sample.</summary>
    public double Result() => Samples == 0 ? double.NaN : _lossSum / Samples;
}
