using K8sTraining.Contract;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace K8sTraining.Training.Models;

/// <summary>
/// TorchVision's ResNet-18, -34 or -50 for any channel count, class count and stem. Parameter and buffer names are
/// those of PyTorch's torchvision state_dict (<c>conv1.weight</c>, <c>layer1.0.bn1.running_mean</c>, <c>fc.bias</c>);
/// they are the checkpoint keys.
/// </summary>
/// <remarks>
/// TorchVision's <see cref="TorchSharp.Modules.ResNet"/> hard-codes a 3-channel 7x7/2 first convolution and the max-pool
/// in private fields that its forward reads, and its blocks are private classes, so neither can be replaced or subclassed.
/// This module therefore builds TorchVision's ResNet (its blocks, layers, initialisation and classifier unchanged) and
/// takes over its children by name, in TorchVision's order, swapping only the first convolution when the stem or the
/// channel count differs. The emptied TorchVision module is dropped, not disposed: disposing it would dispose the layers
/// this module now owns, and its finalizer releases nothing (Module.Dispose(false) is a no-op).
/// </remarks>
public sealed class ResNetClassifier : nn.Module<Tensor, Tensor>
{
    /// <summary>The smallest height and width each stem is built for (the last layer then sees one pixel).</summary>
    public static int MinimumSize(ResNetStem stem) => stem == ResNetStem.ImageNet ? 32 : 8;

    private const int StemWidth = 64;

    // Field order is TorchVision's (and PyTorch's): it fixes the order of parameters, buffers and checkpoint entries.
    private readonly nn.Module<Tensor, Tensor> conv1;
    private readonly nn.Module<Tensor, Tensor> bn1;
    private readonly nn.Module<Tensor, Tensor> relu;
    private readonly nn.Module<Tensor, Tensor>? maxpool;
    private readonly Sequential layer1;
    private readonly Sequential layer2;
    private readonly Sequential layer3;
    private readonly Sequential layer4;
    private readonly nn.Module<Tensor, Tensor> avgpool;
    private readonly nn.Module<Tensor, Tensor> flatten;
    private readonly nn.Module<Tensor, Tensor> fc;

    public ResNetClassifier(string model, ModelShape shape, ResNetStem stem)
        : base(model)
    {
        var resnet = model switch
        {
            ModelNames.ResNet18 => torchvision.models.resnet18(num_classes: shape.Classes),
            ModelNames.ResNet34 => torchvision.models.resnet34(num_classes: shape.Classes),
            ModelNames.ResNet50 => torchvision.models.resnet50(num_classes: shape.Classes),
            _ => throw new ArgumentException($"'{model}' is not a ResNet; allowed: {ModelNames.ResNet18}, {ModelNames.ResNet34}, {ModelNames.ResNet50}.", nameof(model)),
        };
        var children = resnet.named_children().ToDictionary(c => c.name, c => c.module);
        T Take<T>(string name) where T : nn.Module => (T)children[name];

        var torchVisionConv1 = Take<nn.Module<Tensor, Tensor>>(nameof(conv1));
        var torchVisionMaxPool = Take<nn.Module<Tensor, Tensor>>(nameof(maxpool));
        if (stem == ResNetStem.ImageNet && shape.Channels == 3)
        {
            conv1 = torchVisionConv1;
        }
        else
        {
            torchVisionConv1.Dispose();
            conv1 = FirstConvolution(shape.Channels, stem);
        }
        bn1 = Take<nn.Module<Tensor, Tensor>>(nameof(bn1));
        relu = Take<nn.Module<Tensor, Tensor>>(nameof(relu));
        if (stem == ResNetStem.ImageNet)
        {
            maxpool = torchVisionMaxPool;
        }
        else
        {
            torchVisionMaxPool.Dispose();
        }
        layer1 = Take<Sequential>(nameof(layer1));
        layer2 = Take<Sequential>(nameof(layer2));
        layer3 = Take<Sequential>(nameof(layer3));
        layer4 = Take<Sequential>(nameof(layer4));
        avgpool = Take<nn.Module<Tensor, Tensor>>(nameof(avgpool));
        flatten = Take<nn.Module<Tensor, Tensor>>(nameof(flatten));
        fc = Take<nn.Module<Tensor, Tensor>>(nameof(fc));
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = relu.call(bn1.call(conv1.call(input)));
        if (maxpool is not null)
        {
            x = maxpool.call(x);
        }
        x = layer4.call(layer3.call(layer2.call(layer1.call(x))));
        return fc.call(flatten.call(avgpool.call(x))).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var module in new nn.Module?[] { conv1, bn1, relu, maxpool, layer1, layer2, layer3, layer4, avgpool, flatten, fc })
            {
                module?.Dispose();
            }
        }
        base.Dispose(disposing);
    }

    /// <summary>A first convolution for another channel count or the small stem, initialised as TorchVision initialises its own.</summary>
    private static Conv2d FirstConvolution(int channels, ResNetStem stem)
    {
        var conv = stem == ResNetStem.ImageNet
            ? nn.Conv2d(channels, StemWidth, 7, stride: 2, padding: 3, bias: false)
            : nn.Conv2d(channels, StemWidth, 3, stride: 1, padding: 1, bias: false);
        nn.init.kaiming_normal_(conv.weight, mode: nn.init.FanInOut.FanOut, nonlinearity: nn.init.NonlinearityType.ReLU);
        return conv;
    }
}
