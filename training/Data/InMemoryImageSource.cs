using System.Buffers;

namespace K8sTraining.Training.Data;

/// <summary>
/// Same-sized images held in memory, one after another (CHW each), with their labels; <see cref="Read"/> converts one to
/// floats in a pooled array.
/// </summary>
public abstract class InMemoryImageSource<T> : IImageSource
{
    private readonly T[] _pixels;
    private readonly long[] _labels;
    private readonly int _channels;
    private readonly int _height;
    private readonly int _width;

    protected InMemoryImageSource(T[] pixels, long[] labels, int channels, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        if (pixels.Length != (long)labels.Length * channels * height * width)
        {
            throw new ArgumentException($"{pixels.Length} values do not make {labels.Length} images of {channels}x{height}x{width}.", nameof(pixels));
        }
        (_pixels, _labels, _channels, _height, _width) = (pixels, labels, channels, height, width);
    }

    public int Count => _labels.Length;

    public long LabelOf(int index) => _labels[index];

    public SourceImage Read(int index)
    {
        var length = _channels * _height * _width;
        var floats = ArrayPool<float>.Shared.Rent(length);
        Convert(_pixels.AsSpan(index * length, length), floats.AsSpan(0, length));
        return new SourceImage(floats, _channels, _height, _width);
    }

    /// <summary>One image's stored values as floats.</summary>
    protected abstract void Convert(ReadOnlySpan<T> stored, Span<float> floats);
}

/// <summary>Same-sized 8-bit images held in memory (Fashion-MNIST, CSV rows); read as pixel / 255.</summary>
public sealed class BytePixelSource(byte[] pixels, long[] labels, int channels, int height, int width)
    : InMemoryImageSource<byte>(pixels, labels, channels, height, width)
{
    protected override void Convert(ReadOnlySpan<byte> stored, Span<float> floats)
    {
        for (var i = 0; i < stored.Length; i++)
        {
            floats[i] = stored[i] / 255f;
        }
    }
}

/// <summary>Same-sized float images held in memory (the synthetic set), read as they are.</summary>
public sealed class FloatPixelSource(float[] pixels, long[] labels, int channels, int height, int width)
    : InMemoryImageSource<float>(pixels, labels, channels, height, width)
{
    protected override void Convert(ReadOnlySpan<float> stored, Span<float> floats) => stored.CopyTo(floats);
}
