namespace K8sTraining.Contract;

/// <summary>The data sets the trainer can read (<c>--dataset</c>, <c>spec.training.dataset</c>).</summary>
public static class DatasetNames
{
    /// <summary>Generated from the seed; needs no files.</summary>
    public const string Synthetic = "synthetic";

    /// <summary>Fashion-MNIST's idx files, in the directory given as <c>--data</c> (<c>spec.training.dataPath</c>).</summary>
    public const string FashionMnist = "fashion-mnist";

    /// <summary>Every allowed value, in the order the CRD lists them.</summary>
    public static readonly IReadOnlyList<string> All = [Synthetic, FashionMnist];
}
