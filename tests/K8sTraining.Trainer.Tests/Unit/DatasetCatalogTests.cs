using K8sTraining.Training.Data;
using K8sTraining.Training.Options;
using K8sTraining.Training.Tasks;
using K8sTraining.Trainer.Tests.Support;

namespace K8sTraining.Trainer.Tests.Unit;

/// <summary>
/// Fashion-MNIST and synthetic keep their exact floats through the catalog, and go through the image transforms only
/// when a transform flag is given.
/// </summary>
[Trait("Category", "Unit")]
public sealed class DatasetCatalogTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("k8st-catalog-").FullName;

    private TrainerOptions Options(string dataset, params string[] flags) =>
        OptionsParser.Parse(["--dataset", dataset, "--data", _dir, "--samples", "64", .. flags], _ => null);

    private static float[] Fill(ITrainingDataset data, int index, bool train = false, int epoch = 0)
    {
        var sample = new float[data.SampleShape.Aggregate(1L, (a, b) => a * b)];
        data.Fill(index, sample, new SampleContext(train, new SampleRandom(1, epoch, index)));
        return sample;
    }

    [Theory]
    [InlineData("fashion-mnist")]
    [InlineData("synthetic")]
    public void Load_Should_GiveTheSameFloatsAsBefore_When_NoTransformFlagIsGiven(string dataset)
    {
        FashionMnistFiles.Write(_dir, train: 32, test: 16);
        var before = DatasetLoader.Load(Options(dataset));

        var data = DatasetCatalog.Load(Options(dataset));

        Assert.Same(typeof(ImageDataset), data.Train.GetType());
        Assert.Equal(before.Train.Pixels, ((ImageDataset)data.Train).Pixels);
        Assert.Equal(before.Test.Pixels, ((ImageDataset)data.Test).Pixels);
        Assert.Equal(before.Train.Labels, Enumerable.Range(0, data.Train.Count).Select(data.Train.LabelOf));
        Assert.Null(data.Validation);
    }

    [Theory]
    [InlineData("fashion-mnist")]
    [InlineData("synthetic")]
    public void Load_Should_GiveTheSameFloatsThroughTheTransforms_When_OnlyInChannels1IsGiven(string dataset)
    {
        FashionMnistFiles.Write(_dir, train: 32, test: 16);
        var before = DatasetLoader.Load(Options(dataset));

        var data = DatasetCatalog.Load(Options(dataset, "--in-channels", "1"));

        Assert.IsType<TransformedImageDataset>(data.Train);
        for (var i = 0; i < 16; i++)
        {
            Assert.Equal(before.Train.Pixels.AsSpan(i * 784, 784).ToArray(), Fill(data.Train, i));
            Assert.Equal(before.Test.Pixels.AsSpan(i * 784, 784).ToArray(), Fill(data.Test, i));
        }
    }

    [Fact]
    public void Load_Should_ResizeReplicateAndAugmentFashionMnist_When_TransformFlagsAreGiven()
    {
        FashionMnistFiles.Write(_dir, train: 32, test: 16);
        var data = DatasetCatalog.Load(Options("fashion-mnist", "--image-size", "32", "--in-channels", "3", "--random-crop-padding", "2", "--horizontal-flip", "true"));

        Assert.Equal([3L, 32, 32], data.Train.SampleShape);
        Assert.Equal(DatasetLoader.FashionMnistClassNames, data.Train.ClassNames);
        var plain = Fill(data.Train, 3);
        Assert.Equal(plain[..1024], plain[2048..]);
        Assert.Contains(Enumerable.Range(0, 6), e => !Fill(data.Train, 3, train: true, epoch: e).SequenceEqual(plain));
        Assert.Equal(plain, Fill(data.Train, 3, train: false, epoch: 5));
    }

    [Fact]
    public void Load_Should_NotNormalizeFashionMnist_When_NormalizeIsFalse()
    {
        FashionMnistFiles.Write(_dir, train: 32, test: 16);
        var raw = FashionMnistFiles.Images(32, 1).AsSpan(16, 784).ToArray();

        var data = DatasetCatalog.Load(Options("fashion-mnist", "--normalize", "false"));

        Assert.Equal(raw.Select(b => b / 255f), Fill(data.Train, 0));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
