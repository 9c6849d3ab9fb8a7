using K8sTraining.Contract;
using K8sTraining.Training.Data;
using K8sTraining.Training.Options;
using K8sTraining.Training.Tasks;

namespace K8sTraining.Training.Commands;

/// <summary>The images <c>predict</c> reads and the transform that makes them model inputs, as evaluation does.</summary>
public static class ImageInputs
{
    /// <summary>
    /// A file, or the PNG and JPEG files under a directory (recursively, in ordinal order of their paths); throws
    /// <see cref="InvalidInputException"/> when there is none.
    /// </summary>
    public static IReadOnlyList<string> Files(string input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (File.Exists(input))
        {
            return [input];
        }
        if (!Directory.Exists(input))
        {
            throw new InvalidInputException($"--input {input} is neither a file nor a directory; give a PNG or JPEG file, or a directory of them");
        }
        var files = Directory.EnumerateFiles(input, "*", SearchOption.AllDirectories)
            .Where(f => ImageFileSource.Extensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal)
            .ToList();
        return files.Count > 0
            ? files
            : throw new InvalidInputException($"--input {input} holds no PNG or JPEG images ({string.Join(", ", ImageFileSource.Extensions.Select(e => "*" + e))})");
    }

    /// <summary>
    /// The evaluation transform of the data the flags name: an image data set's own (size, channels, the training
    /// split's statistics); for the in-memory Fashion-MNIST and synthetic sets, 28 x 28 gray with the statistics they
    /// are normalised by (Fashion-MNIST's published ones; none for synthetic).
    /// </summary>
    public static ImageTransform Transform(TrainingData data, TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        if (data.Test is TransformedImageDataset transformed)
        {
            return transformed.Transform;
        }
        return new ImageTransform
        {
            Channels = 1,
            Height = ImageDataset.Height,
            Width = ImageDataset.Width,
            Normalization = options.Dataset == DatasetNames.FashionMnist ? DatasetLoader.FashionMnistStatistics : null,
        };
    }

    /// <summary>The files as a data set (label 0 each) read through <paramref name="transform"/>.</summary>
    public static ITrainingDataset Dataset(IReadOnlyList<string> files, ImageTransform transform, int classes) =>
        new TransformedImageDataset(new ImageFileSource(files, new long[files.Count]), transform, classes);
}
