using K8sTraining.Training.Data;
using K8sTraining.Training.Options;
using K8sTraining.Training.Tasks;
using K8sTraining.Trainer.Tests.Support;
using SixLabors.ImageSharp;

namespace K8sTraining.Trainer.Tests.Unit;

/// <summary>A tree of PNG class folders, generated once from Fashion-MNIST for the tests that only read it.</summary>
public sealed class ImageFolderFixture : IDisposable
{
    public ImageFolderFixture()
    {
        Layout = GeneratedImageData.WriteImageFolder(Path.Combine(Path.GetTempPath(), "k8st-folder-" + Guid.NewGuid().ToString("N")[..8]), trainPerClass: 12, testPerClass: 4, valPerClass: 3);
    }

    public ImageFolderLayout Layout { get; }

    public void Dispose() => Directory.Delete(Layout.Root, recursive: true);
}

/// <summary>image-folder: classes from train/'s folder names, lazy decoding, the transforms, and every bad layout as exit 2.</summary>
[Trait("Category", "Unit")]
public sealed class ImageFolderLoaderTests(ImageFolderFixture fixture) : IClassFixture<ImageFolderFixture>, IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "k8st-folder-" + Guid.NewGuid().ToString("N")[..8]);

    private static TrainerOptions Options(string root, params string[] flags) =>
        OptionsParser.Parse(["--dataset", "image-folder", "--data", root, .. flags], _ => null);

    private static float[] Fill(ITrainingDataset data, int index, bool train = false, int epoch = 0)
    {
        var sample = new float[data.SampleShape.Aggregate(1L, (a, b) => a * b)];
        data.Fill(index, sample, new SampleContext(train, new SampleRandom(42, epoch, index)));
        return sample;
    }

    [Fact]
    public void Load_Should_ReadClassesCountsLabelsAndShape_When_TheTreeHasTrainValAndTest()
    {
        var layout = fixture.Layout;
        var data = DatasetCatalog.Load(Options(layout.Root));

        Assert.Equal(layout.SortedClasses, data.Train.ClassNames);
        Assert.Equal(["ankle-boot", "bag", "coat", "dress", "pullover", "sandal", "shirt", "sneaker", "t-shirt", "trouser"], data.Train.ClassNames);
        Assert.Equal(10, data.Train.Classes);
        Assert.Equal([3L, 28, 28], data.Train.SampleShape);
        Assert.Equal((120, 40, 30), (data.Train.Count, data.Test.Count, data.Validation!.Count));
        Assert.Equal(Enumerable.Range(0, 10).SelectMany(c => Enumerable.Repeat((long)c, 12)), Enumerable.Range(0, 120).Select(i => data.Train.LabelOf(i)));
        Assert.Equal(Enumerable.Range(0, 10).SelectMany(c => Enumerable.Repeat((long)c, 4)), Enumerable.Range(0, 40).Select(i => data.Test.LabelOf(i)));
    }

    [Fact]
    public void Fill_Should_NormalizeByTheTrainingSplitsStatistics_When_NormalizeIsOn()
    {
        var layout = fixture.Layout;
        var data = DatasetCatalog.Load(Options(layout.Root));

        // Training split: 12 images of each class in t10k order; the first sample is ankle-boot (Fashion label 9) #0.
        var all = Enumerable.Range(0, 10).SelectMany(label => Enumerable.Range(0, 12).SelectMany(n => GeneratedImageData.Image(label, n))).Select(p => p / 255.0).ToArray();
        var mean = all.Average();
        var std = Math.Sqrt(all.Select(v => (v - mean) * (v - mean)).Average());
        var raw = GeneratedImageData.Image(9, 0);
        var sample = Fill(data.Train, 0);

        foreach (var pixel in new[] { 0, 300, 406, 783 })
        {
            var expected = (float)(((raw[pixel] / 255.0) - mean) / std);
            for (var c = 0; c < 3; c++)
            {
                Assert.Equal(expected, sample[(c * 784) + pixel], 1e-4f);
            }
        }
        Assert.NotEqual(sample[0], sample[406]);
    }

    [Fact]
    public void Fill_Should_GiveRawGrayScaled_When_OneChannelAndNoNormalization()
    {
        var data = DatasetCatalog.Load(Options(fixture.Layout.Root, "--in-channels", "1", "--normalize", "false"));
        var raw = GeneratedImageData.Image(9, 1);

        Assert.Equal([1L, 28, 28], data.Train.SampleShape);
        Assert.Equal(raw.Select(p => p / 255f).ToArray(), Fill(data.Train, 1), new ToleranceComparer(1e-6f));
    }

    [Fact]
    public void Fill_Should_ResizeEveryImage_When_ImageSizeIsGiven()
    {
        var data = DatasetCatalog.Load(Options(fixture.Layout.Root, "--image-size", "40"));

        Assert.Equal([3L, 40, 40], data.Train.SampleShape);
        Assert.Equal([3L, 40, 40], data.Test.SampleShape);
        Assert.Equal(3 * 40 * 40, Fill(data.Test, 5).Length);
    }

    [Fact]
    public void Fill_Should_AugmentOnlyTrainingSamplesReproducibly_When_CropAndFlipAreOn()
    {
        var data = DatasetCatalog.Load(Options(fixture.Layout.Root, "--random-crop-padding", "4", "--horizontal-flip", "true"));

        var plain = Fill(data.Train, 7, train: false);
        var epoch1 = Fill(data.Train, 7, train: true, epoch: 1);
        Assert.Equal(epoch1, Fill(data.Train, 7, train: true, epoch: 1));
        Assert.Contains(Enumerable.Range(2, 5), e => !Fill(data.Train, 7, train: true, epoch: e).SequenceEqual(epoch1));
        Assert.Contains(Enumerable.Range(1, 6), e => !Fill(data.Train, 7, train: true, epoch: e).SequenceEqual(plain));
        Assert.All(Enumerable.Range(0, 5), e => Assert.Equal(plain, Fill(data.Train, 7, train: false, epoch: e)));
    }

    [Fact]
    public void Load_Should_UseValAsTheTestSplit_When_ThereIsNoTestFolder()
    {
        var layout = GeneratedImageData.WriteImageFolder(_dir, trainPerClass: 2, testPerClass: 0, valPerClass: 2, classes: 3);
        Directory.Delete(Path.Combine(_dir, "test"), recursive: true);

        var data = DatasetCatalog.Load(Options(layout.Root));

        Assert.Equal(6, data.Test.Count);
        Assert.Null(data.Validation);
    }

    [Fact]
    public void Load_Should_AcceptJpegAndMissingClassFolders_When_TestLacksAClass()
    {
        GeneratedImageData.WriteImageFolder(_dir, trainPerClass: 3, testPerClass: 2, classes: 3, rgb: true, jpegEvery: 2);
        Directory.Delete(Path.Combine(_dir, "test", "pullover"), recursive: true);

        var data = DatasetCatalog.Load(Options(_dir));

        Assert.Contains(Directory.GetFiles(_dir, "*.jpg", SearchOption.AllDirectories), f => f.Contains("/train/", StringComparison.Ordinal));
        Assert.Equal(3, data.Train.Classes);
        Assert.Equal([1L, 1, 2, 2], Enumerable.Range(0, data.Test.Count).Select(i => data.Test.LabelOf(i)));
        for (var i = 0; i < data.Train.Count; i++)
        {
            Assert.All(Fill(data.Train, i), v => Assert.True(float.IsFinite(v)));
        }
    }

    [Fact]
    public void Fill_Should_KeepColorChannelsAndUseLuminanceForOne_When_ImagesAreRgb()
    {
        GeneratedImageData.WriteImageFolder(_dir, trainPerClass: 1, testPerClass: 1, classes: 1);
        var path = Path.Combine(_dir, "train", "t-shirt", "0000.png");
        using (var color = new Image<SixLabors.ImageSharp.PixelFormats.Rgb24>(2, 1))
        {
            color[0, 0] = new(255, 0, 51);
            color[1, 0] = new(0, 102, 255);
            color.Save(path);
        }

        var rgb = DatasetCatalog.Load(Options(_dir, "--normalize", "false"));
        var gray = DatasetCatalog.Load(Options(_dir, "--normalize", "false", "--in-channels", "1"));

        Assert.Equal([1f, 0f, 0f, 0.4f, 0.2f, 1f], Fill(rgb.Train, 0), new ToleranceComparer(1e-6f));
        Assert.Equal([0.2989f + (0.114f * 0.2f), (0.587f * 0.4f) + 0.114f], Fill(gray.Train, 0), new ToleranceComparer(1e-6f));
    }

    [Fact]
    public void Load_Should_UseNumClasses_When_ItIsAtLeastTheFolderCount()
    {
        GeneratedImageData.WriteImageFolder(_dir, trainPerClass: 1, testPerClass: 1, classes: 3);

        var data = DatasetCatalog.Load(Options(_dir, "--num-classes", "5"));

        Assert.Equal(5, data.Train.Classes);
        Assert.Equal(["pullover", "t-shirt", "trouser", "3", "4"], data.Train.ClassNames);
    }

    [Fact]
    public void Fill_Should_ThrowInvalidInputNamingTheFile_When_AnImageCannotBeDecoded()
    {
        GeneratedImageData.WriteImageFolder(_dir, trainPerClass: 2, testPerClass: 1, classes: 2);
        var broken = Path.Combine(_dir, "train", "trouser", "zz-broken.png");
        File.WriteAllBytes(broken, [0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10, 0, 0, 0, 13, 1, 2, 3]);

        var data = DatasetCatalog.Load(Options(_dir, "--normalize", "false"));
        var error = Assert.Throws<InvalidInputException>(() => Fill(data.Train, data.Train.Count - 1));

        Assert.Contains(broken, error.Message, StringComparison.Ordinal);
        Assert.Contains("cannot be decoded as a PNG or JPEG image", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("empty class folder", "holds no PNG or JPEG images", "train/pullover")]
    [InlineData("empty class folder in test", "holds no PNG or JPEG images", "test/trouser")]
    [InlineData("no train folder", "has no train/ folder", "train")]
    [InlineData("train without class folders", "holds no class folders", "train")]
    [InlineData("neither test nor val", "has neither a test/ nor a val/ folder", "test")]
    [InlineData("class only in test", "has class folders that", "sneaker")]
    [InlineData("num-classes below the folder count", "--num-classes 2 is less than the 3 class folders", "Drop --num-classes")]
    [InlineData("first image undecodable", "cannot be decoded as a PNG or JPEG image", "0000.png")]
    public void Load_Should_ThrowInvalidInputSayingWhatAndHow_When_TheTreeIsBad(string name, string expected, string named)
    {
        GeneratedImageData.WriteImageFolder(_dir, trainPerClass: 2, testPerClass: 1, classes: 3);
        var flags = new List<string>();
        switch (name)
        {
            case "empty class folder":
                foreach (var f in Directory.GetFiles(Path.Combine(_dir, "train", "pullover")))
                {
                    File.Delete(f);
                }
                File.WriteAllText(Path.Combine(_dir, "train", "pullover", "notes.txt"), "not an image");
                break;
            case "empty class folder in test":
                Directory.Delete(Path.Combine(_dir, "test", "trouser"), recursive: true);
                Directory.CreateDirectory(Path.Combine(_dir, "test", "trouser"));
                break;
            case "no train folder":
                Directory.Delete(Path.Combine(_dir, "train"), recursive: true);
                break;
            case "train without class folders":
                Directory.Delete(Path.Combine(_dir, "train"), recursive: true);
                Directory.CreateDirectory(Path.Combine(_dir, "train"));
                break;
            case "neither test nor val":
                Directory.Delete(Path.Combine(_dir, "test"), recursive: true);
                break;
            case "class only in test":
                Directory.CreateDirectory(Path.Combine(_dir, "test", "sneaker"));
                GeneratedImageData.WriteImage(Path.Combine(_dir, "test", "sneaker", "0000.png"), GeneratedImageData.Image(7, 0));
                break;
            case "num-classes below the folder count":
                flags.AddRange(["--num-classes", "2"]);
                break;
            default:
                File.WriteAllText(Path.Combine(_dir, "train", "pullover", "0000.png"), "<html>not a png</html>");
                break;
        }

        var error = Assert.Throws<InvalidInputException>(() => DatasetCatalog.Load(Options(_dir, [.. flags])));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }
}

/// <summary>Compares floats within an absolute tolerance (for sequences of floats).</summary>
public sealed class ToleranceComparer(float tolerance) : IEqualityComparer<float>
{
    public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;

    public int GetHashCode(float obj) => 0;
}
