namespace K8sTraining.Contract;

/// <summary>The networks the trainer can train (<c>--model</c>, <c>spec.training.model</c>).</summary>
public static class ModelNames
{
    /// <summary>A multi-layer perceptron.</summary>
    public const string Mlp = "mlp";

    /// <summary>A small convolutional network.</summary>
    public const string Cnn = "cnn";

    /// <summary>Every allowed value, in the order the CRD lists them.</summary>
    public static readonly IReadOnlyList<string> All = [Mlp, Cnn];
}
