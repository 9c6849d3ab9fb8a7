using static TorchSharp.torch;

namespace K8sTraining.Training.Models;

/// <summary>
/// The built-in networks for Fashion-MNIST's shape (1 x 28 x 28, 10 classes), for callers that have no data set at
/// hand (the benchmark). Everything else goes through <see cref="ModelCatalog.Create(Options.TrainerOptions, Tasks.ITrainingDataset)"/>.
/// </summary>
public static class ModelFactory
{
    public static nn.Module<Tensor, Tensor> Create(string name) => ModelCatalog.Create(name, ModelShape.FashionMnist);
}
