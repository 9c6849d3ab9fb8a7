using K8sTraining.Training.Commands;
using K8sTraining.Training.Data;
using K8sTraining.Training.Options;
using K8sTraining.Training.Tasks;

namespace K8sTraining.Trainer.Tests.Unit.Commands;

[Trait("Category", "Unit")]
public sealed class ImageInputsTests
{
    private static readonly ImageDataset Gray = new(new float[784], [0]);

    [Fact]
    public void Transform_Should_UseTheDataSetsOwn_When_ItsImagesAreTransformed()
    {
        var own = new ImageTransform { Channels = 3, Height = 32, Width = 32, CropPadding = 4, Normalization = ChannelStatistics.Uniform(3, 0.5f, 0.25f) };
        var test = new TransformedImageDataset(new FloatPixelSource(new float[784], [0], 1, 28, 28), own, 10);

        var transform = ImageInputs.Transform(new TrainingData(test, test), OptionsParser.Parse([], _ => null));

        Assert.Same(own, transform);
    }

    [Theory]
    [InlineData("fashion-mnist", 0.2860f, 0.3530f)]
    [InlineData("synthetic", float.NaN, float.NaN)]
    public void Transform_Should_NormaliseAsTheInMemorySetIs_When_ItHoldsFloats(string dataset, float mean, float std)
    {
        var transform = ImageInputs.Transform(new TrainingData(Gray, Gray), OptionsParser.Parse(["--dataset", dataset], _ => null));

        Assert.Equal([1L, 28, 28], transform.Shape);
        Assert.Equal(0, transform.CropPadding);
        if (float.IsNaN(mean))
        {
            Assert.Null(transform.Normalization);
            return;
        }
        Assert.Equal([mean], transform.Normalization!.Mean);
        Assert.Equal([std], transform.Normalization!.Std);
    }

    [Fact]
    public void Files_Should_ListImagesRecursivelyInPathOrder_When_GivenADirectory()
    {
        var root = Path.Combine(Path.GetTempPath(), "inputs-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "b"));
            foreach (var name in new[] { "b/2.PNG", "a.jpg", "notes.txt", "c.jpeg" })
            {
                File.WriteAllBytes(Path.Combine(root, name), [0]);
            }

            var files = ImageInputs.Files(root);

            Assert.Equal(["a.jpg", "b/2.PNG", "c.jpeg"], files.Select(f => Path.GetRelativePath(root, f)));
            Assert.Throws<InvalidInputException>(() => ImageInputs.Files(Path.Combine(root, "b", "nothing-here")));
            File.Delete(Path.Combine(root, "b", "2.PNG"));
            var e = Assert.Throws<InvalidInputException>(() => ImageInputs.Files(Path.Combine(root, "b")));
            Assert.Contains("holds no PNG or JPEG images", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
