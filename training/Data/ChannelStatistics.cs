using System.Buffers;
using K8sTraining.Training.Tasks;

namespace K8sTraining.Training.Data;

/// <summary>Per-channel mean and standard deviation that <see cref="ImageTransform"/> normalises with.</summary>
public sealed record ChannelStatistics(float[] Mean, float[] Std)
{
    /// <summary>
    /// The most training images the statistics are computed from: all of them up to this many, else this many evenly
    /// strided ones (image i * count / limit for i in [0, limit)), which is deterministic and close enough for
    /// normalisation.
    /// </summary>
    public const int MaxImages = 4096;

    /// <summary>The same statistics for every channel (for example Fashion-MNIST's published ones).</summary>
    public static ChannelStatistics Uniform(int channels, float mean, float std) =>
        new(Enumerable.Repeat(mean, channels).ToArray(), Enumerable.Repeat(std, channels).ToArray());

    /// <summary>
    /// The population mean and standard deviation of each channel over the (sampled) images of
    /// <paramref name="source"/>, after <paramref name="transform"/>'s channel conversion and resize (no augmentation,
    /// no normalisation). Images are read in parallel; per-image sums are added in index order, so the result does not
    /// depend on thread timing. A channel with no spread gets std 1.
    /// </summary>
    public static ChannelStatistics Compute(IImageSource source, ImageTransform transform, int maxImages = MaxImages)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(transform);
        var plain = transform with { CropPadding = 0, HorizontalFlip = false, Normalization = null };
        var count = Math.Min(source.Count, maxImages);
        var channels = plain.Channels;
        var plane = plain.Height * plain.Width;
        var sums = new double[count * channels * 2];
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, Environment.ProcessorCount) }, i =>
        {
            var index = (int)((long)i * source.Count / count);
            var buffer = ArrayPool<float>.Shared.Rent(plain.Length);
            var image = source.Read(index);
            try
            {
                plain.Apply(image, buffer, new SampleContext(false, default));
                for (var c = 0; c < channels; c++)
                {
                    double sum = 0, squares = 0;
                    foreach (var v in buffer.AsSpan(c * plane, plane))
                    {
                        sum += v;
                        squares += (double)v * v;
                    }
                    sums[(((i * channels) + c) * 2) + 0] = sum;
                    sums[(((i * channels) + c) * 2) + 1] = squares;
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(image.Pixels);
                ArrayPool<float>.Shared.Return(buffer);
            }
        });
        var mean = new float[channels];
        var std = new float[channels];
        var n = (double)count * plane;
        for (var c = 0; c < channels; c++)
        {
            double sum = 0, squares = 0;
            for (var i = 0; i < count; i++)
            {
                sum += sums[(((i * channels) + c) * 2) + 0];
                squares += sums[(((i * channels) + c) * 2) + 1];
            }
            var m = sum / n;
            var variance = Math.Max(0, (squares / n) - (m * m));
            mean[c] = (float)m;
            std[c] = variance > 1e-12 ? (float)Math.Sqrt(variance) : 1f;
        }
        return new ChannelStatistics(mean, std);
    }
}
