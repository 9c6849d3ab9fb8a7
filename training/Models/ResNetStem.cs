namespace K8sTraining.Training.Models;

/// <summary>The first layers of a ResNet, resolved from <c>--stem</c> for one input size.</summary>
public enum ResNetStem
{
    /// <summary>TorchVision's: 7x7 convolution of stride 2, then a 3x3 max-pool of stride 2 (32x downsampling in all).</summary>
    ImageNet,

    /// <summary>The CIFAR-style stem: a 3x3 convolution of stride 1 and no max-pool (8x downsampling in all).</summary>
    Small,
}
