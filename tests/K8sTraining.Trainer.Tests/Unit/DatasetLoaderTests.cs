using K8sTraining.Training.Data;
using K8sTraining.Training.Options;
using K8sTraining.Trainer.Tests.Support;

namespace K8sTraining.Trainer.Tests.Unit;

/// <summary>A damaged or incomplete dataset is the user's to fix: the error names the file, what is wrong and what to do.</summary>
[Trait("Category", "Unit")]
public sealed class DatasetLoaderTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "k8st-data-" + Guid.NewGuid().ToString("N")[..8]);

    [Theory]
    [InlineData("truncated gz file", "train-images-idx3-ubyte.gz", "is truncated")]
    [InlineData("truncated plain file", "train-images-idx3-ubyte", "is truncated")]
    [InlineData("garbage gz file", "t10k-labels-idx1-ubyte.gz", "cannot be read as a gzipped idx file")]
    [InlineData("text instead of idx", "train-labels-idx1-ubyte", "cannot be read as an idx file: Not an idx file")]
    [InlineData("header announcing absurd dimensions", "t10k-images-idx3-ubyte", "cannot be read as an idx file")]
    [InlineData("train files missing, test files present", "train-images-idx3-ubyte", "holds t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte but not train-images-idx3-ubyte(.gz), train-labels-idx1-ubyte(.gz)")]
    public void Load_Should_ThrowInvalidInputNamingTheFileAndTheFix_When_DatasetIsDamaged(string damage, string file, string expected)
    {
        FashionMnistFiles.Write(_dir);
        var path = Path.Combine(_dir, file);
        switch (damage)
        {
            case "truncated gz file":
                var gz = File.ReadAllBytes(path);
                File.WriteAllBytes(path, gz[..(gz.Length / 2)]);
                break;
            case "truncated plain file":
                File.Delete(path + ".gz");
                File.WriteAllBytes(path, FashionMnistFiles.Images(32, 1)[..1000]);
                break;
            case "garbage gz file":
                File.WriteAllBytes(path, new byte[] { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8 });
                break;
            case "text instead of idx":
                File.Delete(path + ".gz");
                File.WriteAllText(path, "<html>404 Not Found</html>");
                break;
            case "header announcing absurd dimensions":
                File.Delete(path + ".gz");
                File.WriteAllBytes(path, [0, 0, 8, 3, 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 28]);
                break;
            default:
                File.Delete(Path.Combine(_dir, "train-images-idx3-ubyte.gz"));
                File.Delete(Path.Combine(_dir, "train-labels-idx1-ubyte.gz"));
                break;
        }

        var error = Assert.Throws<InvalidInputException>(() => DatasetLoader.Load(Options()));

        Assert.Contains(file, error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Contains("Download the four Fashion-MNIST files", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_Should_ReadEverySplit_When_TheFilesAreIntact()
    {
        FashionMnistFiles.Write(_dir, train: 32, test: 16);
        var splits = DatasetLoader.Load(Options());
        Assert.Equal((32, 16), (splits.Train.Count, splits.Test.Count));
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private TrainerOptions Options() => OptionsParser.Parse(["--dataset", "fashion-mnist", "--data", _dir], _ => null);
}
