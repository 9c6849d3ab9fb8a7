using K8sTraining.Training.Data;
using K8sTraining.Training.Tasks;
using TorchSharp;
using static TorchSharp.torch;
using TF = TorchSharp.torchvision.transforms.functional;

namespace K8sTraining.Trainer.Tests.Unit;

/// <summary>
/// The per-sample transforms give what torchvision's functional transforms give, and augmentation is a pure function
/// of (seed, epoch, index) that never touches evaluation samples.
/// </summary>
[Trait("Category", "Unit")]
public sealed class ImageTransformTests
{
    private static SourceImage RandomImage(int channels, int height, int width, int seed)
    {
        var random = new Random(seed);
        var pixels = new float[channels * height * width];
        for (var i = 0; i < pixels.Length; i++)
        {
            pixels[i] = random.Next(256) / 255f;
        }
        return new SourceImage(pixels, channels, height, width);
    }

    private static float[] Apply(ImageTransform transform, SourceImage image, bool train, long seed = 7, int epoch = 0, int index = 3)
    {
        var output = new float[transform.Length];
        transform.Apply(image, output, new SampleContext(train, new SampleRandom(seed, epoch, index)));
        return output;
    }

    private static float[] Floats(Tensor t) => t.contiguous().data<float>().ToArray();

    [Theory]
    [InlineData("gray, pad 2", 1, 2)]
    [InlineData("rgb, pad 4", 3, 4)]
    [InlineData("rgb, pad 1", 3, 1)]
    public void Apply_Should_EqualTorchVisionPadCropFlipNormalize_When_Training(string name, int channels, int padding)
    {
        _ = name;
        var image = RandomImage(channels, 12, 10, seed: channels + padding);
        var stats = new ChannelStatistics([.. Enumerable.Range(0, channels).Select(c => 0.3f + (0.1f * c))], [.. Enumerable.Range(0, channels).Select(c => 0.25f + (0.05f * c))]);
        var transform = new ImageTransform { Channels = channels, Height = 12, Width = 10, CropPadding = padding, HorizontalFlip = true, Normalization = stats };
        for (var index = 0; index < 8; index++)
        {
            var actual = Apply(transform, image, train: true, index: index);

            // The same draws, in the same order, as ImageTransform makes them.
            var random = new SampleRandom(7, 0, index);
            var top = random.Next((2 * padding) + 1);
            var left = random.Next((2 * padding) + 1);
            var flip = random.NextDouble() < 0.5;
            using var scope = NewDisposeScope();
            var tensor = torch.tensor(image.Pixels, [channels, 12, 10]);
            var padded = TF.pad(tensor, [padding, padding, padding, padding]);
            var cropped = TF.crop(padded, top, left, 12, 10);
            var flipped = flip ? TF.hflip(cropped) : cropped;
            var expected = TF.normalize(flipped.unsqueeze(0), [.. stats.Mean.Select(m => (double)m)], [.. stats.Std.Select(s => (double)s)]);

            Assert.Equal(Floats(expected), actual);
        }
    }

    [Fact]
    public void Apply_Should_ResizeBilinearAsInterpolate_When_TheSizeDiffers()
    {
        var image = RandomImage(3, 28, 28, seed: 1);
        var transform = new ImageTransform { Channels = 3, Height = 48, Width = 40 };

        var actual = Apply(transform, image, train: false);

        using var scope = NewDisposeScope();
        var expected = nn.functional.interpolate(torch.tensor(image.Pixels, [1, 3, 28, 28]), [48, 40], mode: InterpolationMode.Bilinear, align_corners: false, antialias: true);
        Assert.Equal(Floats(expected), actual);
        Assert.Equal(image.Pixels[0], actual[0], 1e-6f);
    }

    [Fact]
    public void Apply_Should_ConvertByTorchVisionLuminanceAndReplicateGray_When_ChannelsDiffer()
    {
        var rgb = RandomImage(3, 6, 5, seed: 2);
        var gray = Apply(new ImageTransform { Channels = 1, Height = 6, Width = 5 }, rgb, train: false);
        using (NewDisposeScope())
        {
            var expected = Floats(TF.rgb_to_grayscale(torch.tensor(rgb.Pixels, [3, 6, 5])));
            Assert.Equal(expected.Length, gray.Length);
            for (var i = 0; i < gray.Length; i++)
            {
                Assert.Equal(expected[i], gray[i], 1e-6f);
            }
        }

        var one = RandomImage(1, 6, 5, seed: 3);
        var three = Apply(new ImageTransform { Channels = 3, Height = 6, Width = 5 }, one, train: false);
        Assert.Equal([.. one.Pixels, .. one.Pixels, .. one.Pixels], three);
    }

    [Fact]
    public void Apply_Should_AugmentTheSameWay_When_SeedEpochAndIndexAreTheSame()
    {
        var image = RandomImage(3, 16, 16, seed: 4);
        var transform = new ImageTransform { Channels = 3, Height = 16, Width = 16, CropPadding = 4, HorizontalFlip = true };

        var first = Apply(transform, image, train: true, seed: 42, epoch: 1, index: 5);
        var again = Apply(transform, image, train: true, seed: 42, epoch: 1, index: 5);
        var otherEpochs = Enumerable.Range(2, 6).Select(epoch => Apply(transform, image, train: true, seed: 42, epoch: epoch, index: 5)).ToList();

        Assert.Equal(first, again);
        Assert.Contains(otherEpochs, o => !o.SequenceEqual(first));
        Assert.NotEqual(image.Pixels, first);
    }

    [Fact]
    public void Apply_Should_NeverAugment_When_NotTraining()
    {
        var image = RandomImage(3, 16, 16, seed: 5);
        var transform = new ImageTransform { Channels = 3, Height = 16, Width = 16, CropPadding = 4, HorizontalFlip = true };

        for (var epoch = 0; epoch < 10; epoch++)
        {
            Assert.Equal(image.Pixels, Apply(transform, image, train: false, epoch: epoch, index: epoch * 7));
        }
    }

    [Fact]
    public void Compute_Should_GiveThePopulationMeanAndStdOfEachChannel_When_AllImagesAreRead()
    {
        var pixels = new float[] { 0, 1, 0.5f, 0.5f, 0.2f, 0.2f, 0.2f, 0.2f }; // image 0: gray [0, 1], [0.5, 0.5]; image 1: constant 0.2
        var source = new FloatPixelSource(pixels, [0, 1], 1, 2, 2);
        var stats = ChannelStatistics.Compute(source, new ImageTransform { Channels = 1, Height = 2, Width = 2 });

        var values = pixels.Select(p => (double)p).ToArray();
        var mean = values.Average();
        var std = Math.Sqrt(values.Select(v => (v - mean) * (v - mean)).Average());
        Assert.Equal((float)mean, stats.Mean[0], 1e-6f);
        Assert.Equal((float)std, stats.Std[0], 1e-6f);
    }
}
