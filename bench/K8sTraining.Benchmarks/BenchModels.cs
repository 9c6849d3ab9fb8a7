using System.Reflection;
using K8sTraining.Training.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace K8sTraining.Benchmarks;

/// <summary>The networks the throughput and stall rows measure in process, and the input each one takes.</summary>
internal static class BenchModels
{
    public const string ResNet18 = "resnet18";

    public static nn.Module<Tensor, Tensor> Create(string name) => name switch
    {
        ResNet18 => SmallStemResNet18(),
        _ => ModelFactory.Create(name),
    };

    /// <summary>[C, H, W] of one sample: 1x28x28 for mlp and cnn (Fashion-MNIST), 3x32x32 for resnet18.</summary>
    public static long[] SampleShape(string name) => name == ResNet18 ? [3, 32, 32] : [1, 28, 28];

    /// <summary>
    /// TorchVision's resnet18 with the small-image stem (a 3x3 stride-1 conv1 and no max pool) and 10 classes, as
    /// bench/pytorch/cnn_bench.py builds it in PyTorch.
    /// TODO(coordinator): once ModelCatalog builds resnet18 (helper M), create it there instead
    /// (--model resnet18 --stem small --in-channels 3 --image-size 32 --num-classes 10) and delete this adapter.
    /// </summary>
    private static nn.Module<Tensor, Tensor> SmallStemResNet18()
    {
        var model = torchvision.models.resnet18(num_classes: 10);
        var conv1 = nn.Conv2d(3, 64, 3, stride: 1, padding: 1, bias: false);
        nn.init.kaiming_normal_(conv1.weight, mode: nn.init.FanInOut.FanOut, nonlinearity: nn.init.NonlinearityType.ReLU);
        Replace(model, "conv1", conv1);
        Replace(model, "maxpool", nn.Identity());
        return model;
    }

    // TorchSharp's ResNet keeps its stem in private fields that forward() reads; swap the field and the registered
    // submodule together so forward() and parameters() agree.
    private static void Replace(ResNet model, string name, nn.Module<Tensor, Tensor> module)
    {
        var field = typeof(ResNet).GetField(name, BindingFlags.Instance | BindingFlags.NonPublic)
            ?? throw new InvalidOperationException($"TorchVision's ResNet has no field {name}; update {nameof(BenchModels)}.");
        var old = (nn.Module)field.GetValue(model)!;
        field.SetValue(model, module);
        // register_module refuses a name that is taken; the registry is TorchSharp's private ordered dictionary.
        var registry = typeof(nn.Module).GetField("_internal_submodules", BindingFlags.Instance | BindingFlags.NonPublic)?.GetValue(model)
            ?? throw new InvalidOperationException($"TorchSharp's Module has no _internal_submodules; update {nameof(BenchModels)}.");
        registry.GetType().GetMethod("Remove", [typeof(string)])!.Invoke(registry, [name]);
        model.register_module(name, module);
        old.Dispose();
    }
}
