using K8sTraining.Training.Commands;
using K8sTraining.Training.Plots;
using TorchSharp;
using static TorchSharp.torch;

namespace K8sTraining.Trainer.Tests.Unit.Commands;

[Trait("Category", "Unit")]
public sealed class CommandReportTests
{
    [Fact]
    public void ConfusionMatrixCsv_Should_PutActualClassesInRowsAndPredictedInColumns_When_Written()
    {
        var counts = new long[,] { { 5, 1, 0 }, { 2, 7, 1 }, { 0, 0, 9 } };

        var csv = ConfusionMatrixReport.Csv(counts, ["cat", "dog", "a,b"]);

        Assert.Equal("actual\\predicted,cat,dog,\"a,b\"\ncat,5,1,0\ndog,2,7,1\n\"a,b\",0,0,9\n", csv);
    }

    [Fact]
    public void ConfusionMatrixWrite_Should_WriteAPng_When_GivenCounts()
    {
        var directory = Path.Combine(Path.GetTempPath(), "confusion-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var (csv, png) = ConfusionMatrixReport.Write(directory, new long[,] { { 8, 2 }, { 1, 9 } }, ["yes", "no"]);

            Assert.True(File.Exists(csv));
            var bytes = File.ReadAllBytes(png);
            Assert.True(bytes.Length > 1000 && bytes[1] == 'P' && bytes[2] == 'N' && bytes[3] == 'G', "a PNG");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void ConfusionMatrixWrite_Should_Refuse_When_TheMatrixDoesNotFitTheClasses()
    {
        Assert.Throws<ArgumentException>(() => ConfusionMatrixReport.Csv(new long[2, 2], ["a", "b", "c"]));
    }

    [Fact]
    public void EvaluationTally_Should_CountConfusionAndMeanLoss_When_Updated()
    {
        var tally = new EvaluationTally(3, (o, t) => nn.functional.cross_entropy(o, t));
        tally.Reset();
        using var output = torch.tensor(new float[] { 5, 0, 0, 0, 5, 0, 5, 0, 0, 0, 0, 5 }).reshape(4, 3);
        using var target = torch.tensor(new long[] { 0, 1, 1, 2 });
        using var expectedLoss = nn.functional.cross_entropy(output, target);

        tally.Update(output, target);

        Assert.Equal(new long[,] { { 1, 0, 0 }, { 1, 1, 0 }, { 0, 0, 1 } }, tally.Confusion);
        Assert.Equal(expectedLoss.item<float>(), tally.Result(), 5);
        Assert.Equal(4, tally.Samples);
    }

    [Fact]
    public void PredictCsv_Should_NameThePredictedClassAndListEveryProbability_When_Written()
    {
        var csv = PredictCommand.Csv(["a.png", "dir,1/b.png"], [[0.1f, 0.7f, 0.2f], [0.6f, 0.3f, 0.1f]], ["x", "y", "z"]);

        Assert.Equal("file,predicted,x,y,z\na.png,y,0.1,0.7,0.2\n\"dir,1/b.png\",x,0.6,0.3,0.1\n", csv);
    }

    [Fact]
    public void EvaluateText_Should_ShowAccuracyLossAndEveryClass_When_Printed()
    {
        var report = new EvaluationReport("/c/step-000000000010", 10, 1, "raw", 20, 0.75, 0.6, [new ClassEvaluation("cat", 12, 0.75), new ClassEvaluation("dog", 0, null)]);

        var text = EvaluateCommand.Text(report);

        Assert.Contains("Test accuracy 0.7500, loss 0.6000 over 20 samples", text, StringComparison.Ordinal);
        Assert.Contains("  cat    0.7500  (12 samples)", text, StringComparison.Ordinal);
        Assert.Contains("  dog         -  (0 samples)", text, StringComparison.Ordinal);
    }
}
