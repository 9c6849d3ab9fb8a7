using K8sTraining.Training.Options;
using K8sTraining.Training.Tasks;
using static TorchSharp.torch;

namespace K8sTraining.Training.Models;

/// <summary>The built-in networks by name (<c>--model</c>), shaped for the training split's samples and classes.</summary>
public static class ModelCatalog
{
    public static nn.Module<Tensor, Tensor> Create(TrainerOptions options, ITrainingDataset train)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(train);
        return ModelFactory.Create(options.Model);
    }
}
