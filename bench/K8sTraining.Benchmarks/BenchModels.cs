using K8sTraining.Contract;
using K8sTraining.Training.Models;
using static TorchSharp.torch;

namespace K8sTraining.Benchmarks;

/// <summary>The networks the throughput and stall rows measure in process, and the input each one takes.</summary>
internal static class BenchModels
{
    public const string ResNet18 = ModelNames.ResNet18;

    /// <summary>
    /// The trainer's own networks from <see cref="ModelCatalog"/>: mlp and cnn for Fashion-MNIST (1x28x28, 10 classes),
    /// and resnet18 at 3x32x32 with the small-image stem (3x3 stride-1 conv1, no max pool), as
    /// bench/pytorch/cnn_bench.py builds it in PyTorch.
    /// </summary>
    public static nn.Module<Tensor, Tensor> Create(string name) => name == ResNet18
        ? ModelCatalog.Create(name, new ModelShape(3, 32, 32, 10), StemNames.Small)
        : ModelCatalog.Create(name, ModelShape.FashionMnist);

    /// <summary>[C, H, W] of one sample: 1x28x28 for mlp and cnn (Fashion-MNIST), 3x32x32 for resnet18.</summary>
    public static long[] SampleShape(string name) => name == ResNet18 ? [3, 32, 32] : [1, 28, 28];
}
