using System.Buffers;
using K8sTraining.Training.Tasks;

namespace K8sTraining.Training.Data;

/// <summary>
/// A data set of images read from an <see cref="IImageSource"/> and transformed per sample by an
/// <see cref="ImageTransform"/> (resize, crop, flip, normalise), the way image-folder and csv-images are served.
/// </summary>
public sealed class TransformedImageDataset(IImageSource source, ImageTransform transform, int classes, IReadOnlyList<string>? classNames = null) : ITrainingDataset
{
    public IImageSource Source { get; } = source ?? throw new ArgumentNullException(nameof(source));

    public ImageTransform Transform { get; } = transform ?? throw new ArgumentNullException(nameof(transform));

    public int Count => Source.Count;

    public IReadOnlyList<long> SampleShape { get; } = transform.Shape;

    public int Classes { get; } = classes;

    public IReadOnlyList<string>? ClassNames { get; } = classNames;

    public long LabelOf(int index) => Source.LabelOf(index);

    public void Fill(int index, Span<float> input, SampleContext context)
    {
        var image = Source.Read(index);
        try
        {
            Transform.Apply(image, input, context);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(image.Pixels);
        }
    }
}
