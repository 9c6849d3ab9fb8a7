using static TorchSharp.torch;

namespace K8sTraining.Training.Tasks;

/// <summary>
/// A metric the loop computes over the validation and test splits after every epoch, beside accuracy and per-class
/// accuracy; it appears in the epoch report and the CSV log under <see cref="Name"/>. It must not use any random numbers.
/// </summary>
public interface IEvaluationMetric
{
    /// <summary>The column name, for example <c>top5</c>.</summary>
    string Name { get; }

    /// <summary>Called before each evaluation pass.</summary>
    void Reset();

    /// <summary>One batch: the model's output [batch, classes] and the targets [batch].</summary>
    void Update(Tensor output, Tensor target);

    /// <summary>The value over every batch since <see cref="Reset"/>.</summary>
    double Result();
}
