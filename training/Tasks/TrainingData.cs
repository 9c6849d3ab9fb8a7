namespace K8sTraining.Training.Tasks;

/// <summary>
/// The splits of a task: the loop trains on <see cref="Train"/>, reports validation accuracy on
/// <see cref="Validation"/> when there is one, and test accuracy on <see cref="Test"/>. With <c>--val-fraction</c> and
/// no validation split of its own, the loop takes a stratified one from <see cref="Train"/> and keeps its indices in
/// the checkpoint.
/// </summary>
public sealed record TrainingData(ITrainingDataset Train, ITrainingDataset Test, ITrainingDataset? Validation = null);
