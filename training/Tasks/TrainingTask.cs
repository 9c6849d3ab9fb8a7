using static TorchSharp.torch;

namespace K8sTraining.Training.Tasks;

/// <summary>
/// The loss of one batch: the model's output [batch, classes] and the targets [batch] (class indices, int64) to a scalar.
/// </summary>
public delegate Tensor LossFunction(Tensor output, Tensor target);

/// <summary>
/// What a user supplies to train their own model on their own data; <see cref="Hosting.TrainerApp.RunAsync"/> does the rest
/// (resume, checkpoints, S3 sync, signals, the termination message, metrics, progress, the CSV log).
/// </summary>
public sealed record TrainingTask
{
    /// <summary>
    /// The model's name, recorded in every checkpoint: a checkpoint resumes only under the same name (exit 2 names
    /// <c>--model</c> otherwise). Change it when the network's layers change.
    /// </summary>
    public required string ModelName { get; init; }

    /// <summary>The data set's name, recorded in every checkpoint like <see cref="ModelName"/>.</summary>
    public required string DatasetName { get; init; }

    /// <summary>
    /// Builds the network, after the seed is set (its initial weights follow from <c>--seed</c>). Its registered fields
    /// (parameters and buffers, by their names) are the checkpoint's keys.
    /// </summary>
    public required Func<TrainingData, nn.Module<Tensor, Tensor>> CreateModel { get; init; }

    /// <summary>Loads the data; called once per attempt, before the model is built.</summary>
    public required Func<TrainingData> LoadData { get; init; }

    /// <summary>
    /// Loads the data resized to N x N pixels, for stages with an <c>imageSize</c> (progressive resizing); null: the task
    /// cannot resize its data, and such stages are refused (exit 2).
    /// </summary>
    public Func<int, TrainingData>? LoadDataAtImageSize { get; init; }

    /// <summary>
    /// The loss, given the training split it will see (for class weights); null: <c>--loss</c> with
    /// <c>--class-weights</c> (cross-entropy by default).
    /// </summary>
    public Func<ITrainingDataset, LossFunction>? CreateLoss { get; init; }

    /// <summary>Extra evaluation metrics; accuracy and per-class accuracy are always reported.</summary>
    public IReadOnlyList<IEvaluationMetric> Metrics { get; init; } = [];
}
