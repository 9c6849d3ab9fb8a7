namespace K8sTraining.Contract;

/// <summary>The data sets the trainer can read (<c>--dataset</c>, <c>spec.training.dataset</c>).</summary>
public static class DatasetNames
{
    /// <summary>Generated from the seed; needs no files.</summary>
    public const string Synthetic = "synthetic";

    /// <summary>Fashion-MNIST's idx files, in the directory given as <c>--data</c> (<c>spec.training.dataPath</c>).</summary>
    public const string FashionMnist = "fashion-mnist";

    /// <summary>
    /// PNG and JPEG images in class folders: <c>--data DIR</c> holds <c>train/&lt;class&gt;/*</c> and optionally
    /// <c>val/&lt;class&gt;/*</c> and <c>test/&lt;class&gt;/*</c>; classes are the folder names in ordinal order.
    /// </summary>
    public const string ImageFolder = "image-folder";

    /// <summary>
    /// A FER2013-style CSV file (<c>--data FILE</c>): a header <c>emotion,pixels,Usage</c>, one row per image with
    /// space-separated grayscale pixels of a square image; Usage is Training, PublicTest or PrivateTest.
    /// </summary>
    public const string CsvImages = "csv-images";

    /// <summary>Every allowed value, in the order the CRD lists them.</summary>
    public static readonly IReadOnlyList<string> All = [Synthetic, FashionMnist, ImageFolder, CsvImages];
}
