using K8sTraining.Training.Data;
using K8sTraining.Training.Options;
using K8sTraining.Training.Tasks;
using K8sTraining.Trainer.Tests.Support;

namespace K8sTraining.Trainer.Tests.Unit;

/// <summary>csv-images: the FER2013 layout's splits, sizes and classes, the transforms, and every bad row as exit 2 naming the line.</summary>
[Trait("Category", "Unit")]
public sealed class CsvImagesLoaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("k8st-csv-").FullName;

    private string CsvPath => Path.Combine(_dir, "fer.csv");

    private static TrainerOptions Options(string path, params string[] flags) =>
        OptionsParser.Parse(["--dataset", "csv-images", "--data", path, .. flags], _ => null);

    private static float[] Fill(ITrainingDataset data, int index, bool train = false, int epoch = 0)
    {
        var sample = new float[data.SampleShape.Aggregate(1L, (a, b) => a * b)];
        data.Fill(index, sample, new SampleContext(train, new SampleRandom(42, epoch, index)));
        return sample;
    }

    private static long[] Labels(ITrainingDataset data) => Enumerable.Range(0, data.Count).Select(data.LabelOf).ToArray();

    [Fact]
    public void Load_Should_ReadSplitsClassesAndTheImbalance_When_TheFileIsFer2013Style()
    {
        var fer = GeneratedImageData.WriteFerCsv(CsvPath, rarest: 3, publicPerClass: 2, privatePerClass: 3);

        var data = DatasetCatalog.Load(Options(fer.Path));

        Assert.Equal(7, data.Train.Classes);
        Assert.Equal([1L, 28, 28], data.Train.SampleShape);
        Assert.Equal(fer.TrainCounts.Sum(), data.Train.Count);
        Assert.Equal((21, 14), (data.Test.Count, data.Validation!.Count));
        var counts = Labels(data.Train).CountBy(l => l).OrderBy(kv => kv.Key).Select(kv => kv.Value).ToArray();
        Assert.Equal(fer.TrainCounts, counts);
        Assert.Equal(10 * counts[6], counts[0]);
        Assert.Equal(Enumerable.Range(0, 2).SelectMany(_ => Enumerable.Range(0, 7).Select(l => (long)l)), Labels(data.Validation));
    }

    [Fact]
    public void Fill_Should_NormalizeByTheTrainingRowsStatistics_When_NormalizeIsOn()
    {
        var fer = GeneratedImageData.WriteFerCsv(CsvPath, rarest: 2, publicPerClass: 1, privatePerClass: 1);
        var data = DatasetCatalog.Load(Options(fer.Path));

        // Training rows are interleaved class by class; every class's first image comes first.
        var order = new List<byte[]>();
        var next = new int[7];
        for (var round = 0; round < fer.TrainCounts.Max(); round++)
        {
            for (var label = 0; label < 7; label++)
            {
                if (round < fer.TrainCounts[label])
                {
                    order.Add(GeneratedImageData.Image(label, next[label]++));
                }
            }
        }
        var all = order.SelectMany(p => p).Select(p => p / 255.0).ToArray();
        var mean = all.Average();
        var std = Math.Sqrt(all.Select(v => (v - mean) * (v - mean)).Average());
        var sample = Fill(data.Train, 2);

        Assert.Equal(2L, data.Train.LabelOf(2));
        foreach (var pixel in new[] { 0, 100, 406, 783 })
        {
            Assert.Equal((float)(((order[2][pixel] / 255.0) - mean) / std), sample[pixel], 1e-4f);
        }
    }

    [Fact]
    public void Load_Should_ReadTheSizeFromTheFileAndResize_When_PixelsAre48By48OrImageSizeIsGiven()
    {
        var fer = GeneratedImageData.WriteFerCsv(CsvPath, rarest: 1, publicPerClass: 1, privatePerClass: 0, size: 48);

        var native = DatasetCatalog.Load(Options(fer.Path, "--normalize", "false"));
        var resized = DatasetCatalog.Load(Options(fer.Path, "--image-size", "32", "--in-channels", "3"));

        Assert.Equal([1L, 48, 48], native.Train.SampleShape);
        Assert.Equal(GeneratedImageData.Pixels(GeneratedImageData.Image(0, 0), 48).Select(p => p / 255f), Fill(native.Train, 0));
        Assert.Equal([3L, 32, 32], resized.Train.SampleShape);
        var three = Fill(resized.Train, 0);
        Assert.Equal(three[..1024], three[1024..2048]);
        Assert.Null(native.Validation);
        Assert.Equal(7, native.Test.Count);
    }

    [Fact]
    public void Fill_Should_AugmentOnlyTrainingSamplesReproducibly_When_CropAndFlipAreOn()
    {
        var fer = GeneratedImageData.WriteFerCsv(CsvPath, rarest: 1, publicPerClass: 1, privatePerClass: 1);
        var data = DatasetCatalog.Load(Options(fer.Path, "--random-crop-padding", "3", "--horizontal-flip", "true"));

        var plain = Fill(data.Train, 4);
        var epoch0 = Fill(data.Train, 4, train: true);
        Assert.Equal(epoch0, Fill(data.Train, 4, train: true));
        Assert.Contains(Enumerable.Range(1, 5), e => !Fill(data.Train, 4, train: true, epoch: e).SequenceEqual(epoch0));
        Assert.Equal(plain, Fill(data.Train, 4, train: false, epoch: 3));
    }

    [Fact]
    public void Load_Should_UseNumClasses_When_Given()
    {
        var fer = GeneratedImageData.WriteFerCsv(CsvPath, rarest: 1, publicPerClass: 1, privatePerClass: 0);
        Assert.Equal(9, DatasetCatalog.Load(Options(fer.Path, "--num-classes", "9")).Train.Classes);
    }

    [Theory]
    [InlineData("wrong pixel count", 3, "line 3: 783 pixels where every row needs 784 (28x28")]
    [InlineData("pixel above 255", 4, "line 4: pixel 5 is '256', not a whole number from 0 to 255")]
    [InlineData("pixel not a number", 4, "line 4: pixel 5 is 'x', not a whole number from 0 to 255")]
    [InlineData("negative label", 5, "line 5: the label '-1' is not a non-negative integer")]
    [InlineData("label not a number", 5, "line 5: the label 'happy' is not a non-negative integer")]
    [InlineData("label >= num-classes", 7, "line 7: the label 5 is not below --num-classes 5")]
    [InlineData("unknown usage", 3, "line 3: the Usage 'Validation' is none of Training, PublicTest, PrivateTest")]
    [InlineData("non-square pixel count", 2, "line 2: 780 pixels are not a square image")]
    [InlineData("missing column", 1, "line 1: the header 'emotion,pixels' has no 'Usage' column")]
    [InlineData("too many fields", 3, "line 3: 4 fields where the header has 3")]
    [InlineData("empty file", 0, "is empty")]
    [InlineData("header only", 0, "has a header but no rows")]
    [InlineData("no Training rows", 0, "has no Training rows")]
    [InlineData("no test rows", 0, "has no PrivateTest or PublicTest rows")]
    public void Load_Should_ThrowInvalidInputNamingTheLine_When_TheCsvIsBad(string name, int line, string expected)
    {
        _ = line;
        var fer = GeneratedImageData.WriteFerCsv(CsvPath, rarest: 1, publicPerClass: 1, privatePerClass: 1);
        var lines = File.ReadAllLines(fer.Path).ToList();
        var flags = new List<string>();
        string[] Row(int i) => lines[i - 1].Split(',');
        void Set(int i, string[] fields) => lines[i - 1] = string.Join(',', fields);
        switch (name)
        {
            case "wrong pixel count":
                Set(3, [Row(3)[0], Row(3)[1][..Row(3)[1].LastIndexOf(' ')], Row(3)[2]]);
                break;
            case "pixel above 255":
            case "pixel not a number":
                var pixels = Row(4)[1].Split(' ');
                pixels[4] = name == "pixel above 255" ? "256" : "x";
                Set(4, [Row(4)[0], string.Join(' ', pixels), Row(4)[2]]);
                break;
            case "negative label":
                Set(5, ["-1", Row(5)[1], Row(5)[2]]);
                break;
            case "label not a number":
                Set(5, ["happy", Row(5)[1], Row(5)[2]]);
                break;
            case "label >= num-classes":
                flags.AddRange(["--num-classes", "5"]);
                break;
            case "unknown usage":
                Set(3, [Row(3)[0], Row(3)[1], "Validation"]);
                break;
            case "non-square pixel count":
                Set(2, [Row(2)[0], string.Join(' ', Row(2)[1].Split(' ')[..780]), Row(2)[2]]);
                break;
            case "missing column":
                lines = [.. lines.Select(l => string.Join(',', l.Split(',')[..2]))];
                break;
            case "too many fields":
                lines[2] += ",extra";
                break;
            case "empty file":
                lines = [];
                break;
            case "header only":
                lines = [lines[0]];
                break;
            case "no Training rows":
                lines = [.. lines.Where(l => !l.EndsWith(",Training", StringComparison.Ordinal))];
                break;
            default:
                lines = [.. lines.Where(l => !l.EndsWith("Test", StringComparison.Ordinal))];
                break;
        }
        File.WriteAllLines(fer.Path, lines);

        var error = Assert.Throws<InvalidInputException>(() => DatasetCatalog.Load(Options(fer.Path, [.. flags])));

        Assert.Contains(fer.Path, error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
