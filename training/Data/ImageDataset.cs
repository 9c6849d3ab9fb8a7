using K8sTraining.Training.Tasks;

namespace K8sTraining.Training.Data;

/// <summary>Images as normalised floats (N x 1 x 28 x 28, row-major) and their class labels, held in memory.</summary>
public sealed class ImageDataset : ITrainingDataset
{
    private static readonly long[] Shape = [1, Height, Width];

    public const int Height = 28;
    public const int Width = 28;
    public const int PixelsPerImage = Height * Width;
    public const int Classes = 10;

    public ImageDataset(float[] pixels, long[] labels, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        if (pixels.Length != labels.Length * PixelsPerImage)
        {
            throw new ArgumentException($"{pixels.Length} pixels do not make {labels.Length} images of {PixelsPerImage}.", nameof(pixels));
        }
        Pixels = pixels;
        Labels = labels;
        ClassNames = classNames;
    }

    /// <summary>The classes' names (Fashion-MNIST's), or null (the synthetic set).</summary>
    public IReadOnlyList<string>? ClassNames { get; }

    public float[] Pixels { get; }

    public long[] Labels { get; }

    public int Count => Labels.Length;

    IReadOnlyList<long> ITrainingDataset.SampleShape => Shape;

    int ITrainingDataset.Classes => Classes;

    public long LabelOf(int index) => Labels[index];

    public void Fill(int index, Span<float> input, SampleContext context) =>
        Pixels.AsSpan(index * PixelsPerImage, PixelsPerImage).CopyTo(input);

    /// <summary>Copies the images and labels at <paramref name="indices"/> into the given buffers.</summary>
    public void Gather(ReadOnlySpan<int> indices, Span<float> pixels, Span<long> labels)
    {
        for (var i = 0; i < indices.Length; i++)
        {
            var index = indices[i];
            Pixels.AsSpan(index * PixelsPerImage, PixelsPerImage).CopyTo(pixels.Slice(i * PixelsPerImage, PixelsPerImage));
            labels[i] = Labels[index];
        }
    }
}

/// <summary>A training split and a test split.</summary>
public sealed record DatasetSplits(ImageDataset Train, ImageDataset Test);
