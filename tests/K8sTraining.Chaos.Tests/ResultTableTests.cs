using K8sTraining.Chaos.Runner;

namespace K8sTraining.Chaos.Tests;

[Trait("Category", "Unit")]
public sealed class ResultTableTests
{
    [Theory]
    [InlineData("one value", new double[] { 3 }, 0.5, 3)]
    [InlineData("median of four is the second", new double[] { 4, 1, 3, 2 }, 0.5, 2)]
    [InlineData("p99 of a hundred is the 99th", new double[] { }, 0.99, 99)]
    public void Percentile_Should_BeTheNearestRank_When_ValuesAreGiven(string because, double[] values, double p, double expected)
    {
        var input = values.Length == 0 ? Enumerable.Range(1, 100).Select(i => (double)i).ToArray() : values;
        Assert.True(expected == ResultTable.Percentile(input, p), because);
    }

    [Fact]
    public void Format_Should_PrintOneRowPerScenarioWithItsViolations_When_ResultsAreGiven()
    {
        var ok = new ScenarioResult("trainer interruptions") { Runs = 3, Interruptions = 2 };
        ok.LostGraceful.Add(0);
        ok.LostHard.AddRange([5, 25]);
        ok.RecoverySeconds.AddRange([1.0, 2.0]);
        var bad = new ScenarioResult("S3 faults");
        bad.Violation("latest.json names step-000000000025, which lacks model.bin");

        var table = ResultTable.Format([ok, bad]).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(4, table.Length);
        Assert.Contains("| trainer interruptions | 3 ", table[2], StringComparison.Ordinal);
        Assert.Contains("25, 15.0", table[2], StringComparison.Ordinal);
        Assert.Contains("| 1 ", table[3], StringComparison.Ordinal);
    }

    [Fact]
    public void Context_Should_ReplayTheSameChoicesAndSecret_When_TheSeedIsTheSame()
    {
        var a = new ChaosContext(7, TimeSpan.FromSeconds(1), ChaosProfile.Subset, _ => { });
        var b = new ChaosContext(7, TimeSpan.FromSeconds(1), ChaosProfile.Subset, _ => { });

        Assert.Equal(a.Secret, b.Secret);
        Assert.Equal(Enumerable.Range(0, 20).Select(_ => a.Pick(0, 1000)), Enumerable.Range(0, 20).Select(_ => b.Pick(0, 1000)));
        Directory.Delete(a.WorkDirectory, recursive: true);
        Directory.Delete(b.WorkDirectory, recursive: true);
    }
}
