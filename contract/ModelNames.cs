namespace K8sTraining.Contract;

/// <summary>The networks the trainer can train (<c>--model</c>, <c>spec.training.model</c>).</summary>
public static class ModelNames
{
    /// <summary>A multi-layer perceptron.</summary>
    public const string Mlp = "mlp";

    /// <summary>A small convolutional network.</summary>
    public const string Cnn = "cnn";

    /// <summary>TorchVision's ResNet-18 (basic blocks).</summary>
    public const string ResNet18 = "resnet18";

    /// <summary>TorchVision's ResNet-34 (basic blocks).</summary>
    public const string ResNet34 = "resnet34";

    /// <summary>TorchVision's ResNet-50 (bottleneck blocks).</summary>
    public const string ResNet50 = "resnet50";

    /// <summary>Every allowed value, in the order the CRD lists them.</summary>
    public static readonly IReadOnlyList<string> All = [Mlp, Cnn, ResNet18, ResNet34, ResNet50];
}
