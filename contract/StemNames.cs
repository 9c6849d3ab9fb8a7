namespace K8sTraining.Contract;

/// <summary>The first layers of a ResNet (<c>--stem</c>, <c>spec.training.stem</c>).</summary>
public static class StemNames
{
    /// <summary><see cref="Small"/> when the input is at most 64 pixels high and wide, else <see cref="ImageNet"/>.</summary>
    public const string Auto = "auto";

    /// <summary>TorchVision's own stem: a 7x7 convolution of stride 2 and a 3x3 max-pool of stride 2 (for 224 px inputs).</summary>
    public const string ImageNet = "imagenet";

    /// <summary>The CIFAR-style stem for 28-64 px inputs: a 3x3 convolution of stride 1 and no max-pool.</summary>
    public const string Small = "small";

    /// <summary>Every allowed value, in the order the CRD lists them.</summary>
    public static readonly IReadOnlyList<string> All = [Auto, ImageNet, Small];
}
