using System.Buffers;

namespace K8sTraining.Training.Data;

/// <summary>Same-sized 8-bit images held in memory (Fashion-MNIST, CSV rows); read as pixel / 255.</summary>
public sealed class BytePixelSource : IImageSource
{
    private readonly byte[] _pixels;
    private readonly long[] _labels;
    private readonly int _channels;
    private readonly int _height;
    private readonly int _width;

    public BytePixelSource(byte[] pixels, long[] labels, int channels, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        if (pixels.Length != (long)labels.Length * channels * height * width)
        {
            throw new ArgumentException($"{pixels.Length} bytes do not make {labels.Length} images of {channels}x{height}x{width}.", nameof(pixels));
        }
        (_pixels, _labels, _channels, _height, _width) = (pixels, labels, channels, height, width);
    }

    public int Count => _labels.Length;

    public long LabelOf(int index) => _labels[index];

    public SourceImage Read(int index)
    {
        var length = _channels * _height * _width;
        var floats = ArrayPool<float>.Shared.Rent(length);
        var bytes = _pixels.AsSpan(index * length, length);
        for (var i = 0; i < length; i++)
        {
            floats[i] = bytes[i] / 255f;
        }
        return new SourceImage(floats, _channels, _height, _width);
    }
}

/// <summary>Same-sized float images held in memory (the synthetic set), read as they are.</summary>
public sealed class FloatPixelSource : IImageSource
{
    private readonly float[] _pixels;
    private readonly long[] _labels;
    private readonly int _channels;
    private readonly int _height;
    private readonly int _width;

    public FloatPixelSource(float[] pixels, long[] labels, int channels, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        if (pixels.Length != (long)labels.Length * channels * height * width)
        {
            throw new ArgumentException($"{pixels.Length} floats do not make {labels.Length} images of {channels}x{height}x{width}.", nameof(pixels));
        }
        (_pixels, _labels, _channels, _height, _width) = (pixels, labels, channels, height, width);
    }

    public int Count => _labels.Length;

    public long LabelOf(int index) => _labels[index];

    public SourceImage Read(int index)
    {
        var length = _channels * _height * _width;
        var floats = ArrayPool<float>.Shared.Rent(length);
        _pixels.AsSpan(index * length, length).CopyTo(floats);
        return new SourceImage(floats, _channels, _height, _width);
    }
}
