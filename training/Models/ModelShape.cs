namespace K8sTraining.Training.Models;

/// <summary>What a built-in network reads and predicts: images of <see cref="Channels"/> x <see cref="Height"/> x <see cref="Width"/> and <see cref="Classes"/> scores.</summary>
public readonly record struct ModelShape(int Channels, int Height, int Width, int Classes)
{
    /// <summary>Fashion-MNIST's shape (1 x 28 x 28, 10 classes), which the mlp and cnn were first written for.</summary>
    public static ModelShape FashionMnist { get; } = new(1, 28, 28, 10);

    /// <summary>Input values per sample (C*H*W).</summary>
    public int InputSize => Channels * Height * Width;

    public override string ToString() => $"{Channels}x{Height}x{Width}, {Classes} classes";
}
