using System.Buffers;
using K8sTraining.Training.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace K8sTraining.Training.Data;

/// <summary>
/// What turns a <see cref="SourceImage"/> into a model input of [<see cref="Channels"/>, <see cref="Height"/>,
/// <see cref="Width"/>], in this order, as torchvision's usual pipeline does:
/// <list type="number">
/// <item>channels: 3 to 1 by luminance (torchvision's rgb_to_grayscale weights 0.2989, 0.587, 0.114), 1 to 3 by
/// replicating the gray channel (plain arrays, the same formula as rgb_to_grayscale);</item>
/// <item>resize to Height x Width, bilinear (torch.nn.functional.interpolate, bilinear, align_corners false,
/// antialias: what torchvision.transforms.functional.resize does for tensors; TorchSharp's own functional.resize
/// only knows nearest), only when the size differs;</item>
/// <item>training only (<see cref="SampleContext.Train"/>): random crop with zero padding (pad by
/// <see cref="CropPadding"/> on every side with fill 0, then crop Height x Width at a random top and left, each drawn
/// uniformly from [0, 2 x padding] by the sample's generator), then a horizontal flip with probability 1/2; both as
/// plain index arithmetic, which picks exactly the values functional.pad + crop + hflip would pick;</item>
/// <item>normalize: (x - mean[c]) / std[c] in float32, as functional.normalize computes it (plain arrays).</item>
/// </list>
/// </summary>
public sealed record ImageTransform
{
    /// <summary>Output channels: 1 or 3.</summary>
    public required int Channels { get; init; }

    public required int Height { get; init; }

    public required int Width { get; init; }

    /// <summary>Padding of the random crop (training only); 0: no crop.</summary>
    public int CropPadding { get; init; }

    /// <summary>Flip half the training samples left to right.</summary>
    public bool HorizontalFlip { get; init; }

    /// <summary>Per-channel mean and standard deviation; null: no normalisation.</summary>
    public ChannelStatistics? Normalization { get; init; }

    public IReadOnlyList<long> Shape => [Channels, Height, Width];

    public int Length => Channels * Height * Width;

    /// <summary>Writes the transformed image (<see cref="Length"/> floats, CHW) into <paramref name="output"/>.</summary>
    public void Apply(SourceImage source, Span<float> output, SampleContext context)
    {
        if (output.Length < Length)
        {
            throw new ArgumentException($"The output holds {output.Length} floats, the sample needs {Length}.", nameof(output));
        }
        float[]? converted = null;
        float[]? resized = null;
        try
        {
            var image = source;
            if (source.Channels != Channels)
            {
                converted = ArrayPool<float>.Shared.Rent(Channels * source.Height * source.Width);
                ConvertChannels(source, converted, Channels);
                image = new SourceImage(converted, Channels, source.Height, source.Width);
            }
            if (image.Height != Height || image.Width != Width)
            {
                resized = ArrayPool<float>.Shared.Rent(Length);
                Resize(image, resized, Height, Width);
                image = new SourceImage(resized, Channels, Height, Width);
            }
            var random = context.Random;
            int top = CropPadding, left = CropPadding;
            var flip = false;
            if (context.Train)
            {
                if (CropPadding > 0)
                {
                    top = random.Next((2 * CropPadding) + 1);
                    left = random.Next((2 * CropPadding) + 1);
                }
                if (HorizontalFlip)
                {
                    flip = random.NextDouble() < 0.5;
                }
            }
            CropFlipNormalize(image.Pixels, output, top - CropPadding, left - CropPadding, flip);
        }
        finally
        {
            if (converted is not null)
            {
                ArrayPool<float>.Shared.Return(converted);
            }
            if (resized is not null)
            {
                ArrayPool<float>.Shared.Return(resized);
            }
        }
    }

    // output[c, y, x] = image[c, y + dy, x' + dx] with x' = flip ? W - 1 - x : x, 0 outside the image; then normalised.
    private void CropFlipNormalize(float[] image, Span<float> output, int dy, int dx, bool flip)
    {
        var plane = Height * Width;
        for (var c = 0; c < Channels; c++)
        {
            var mean = Normalization?.Mean[c] ?? 0f;
            var std = Normalization?.Std[c] ?? 1f;
            var normalize = Normalization is not null;
            for (var y = 0; y < Height; y++)
            {
                var sy = y + dy;
                var row = output.Slice((c * plane) + (y * Width), Width);
                for (var x = 0; x < Width; x++)
                {
                    var sx = (flip ? Width - 1 - x : x) + dx;
                    var v = sy >= 0 && sy < Height && sx >= 0 && sx < Width ? image[(c * plane) + (sy * Width) + sx] : 0f;
                    row[x] = normalize ? (v - mean) / std : v;
                }
            }
        }
    }

    internal static void ConvertChannels(SourceImage source, float[] target, int channels)
    {
        var plane = source.Height * source.Width;
        var pixels = source.Pixels;
        if (source.Channels == 3 && channels == 1)
        {
            for (var i = 0; i < plane; i++)
            {
                target[i] = (pixels[i] * 0.2989f) + (pixels[plane + i] * 0.587f) + (pixels[(2 * plane) + i] * 0.114f);
            }
        }
        else if (source.Channels == 1 && channels == 3)
        {
            for (var c = 0; c < 3; c++)
            {
                Array.Copy(pixels, 0, target, c * plane, plane);
            }
        }
        else
        {
            throw new InvalidOperationException($"Cannot convert {source.Channels} channels to {channels}: images have 1 (gray) or 3 (RGB).");
        }
    }

    internal static void Resize(SourceImage image, float[] target, int height, int width)
    {
        using var scope = NewDisposeScope();
        var input = torch.tensor(image.Pixels.AsSpan(0, image.Length).ToArray(), [1, image.Channels, image.Height, image.Width]);
        var output = nn.functional.interpolate(input, [height, width], mode: InterpolationMode.Bilinear, align_corners: false, antialias: true);
        output.contiguous().data<float>().CopyTo(target.AsSpan(0, image.Channels * height * width));
    }
}
