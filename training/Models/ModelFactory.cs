using K8sTraining.Contract;
using static TorchSharp.torch;

namespace K8sTraining.Training.Models;

/// <summary>Builds the network named by --model.</summary>
public static class ModelFactory
{
    public static nn.Module<Tensor, Tensor> Create(string name) => name switch
    {
        ModelNames.Mlp => new Mlp(),
        ModelNames.Cnn => new Cnn(),
        _ => throw new ArgumentException($"Unknown model '{name}'.", nameof(name)),
    };
}
