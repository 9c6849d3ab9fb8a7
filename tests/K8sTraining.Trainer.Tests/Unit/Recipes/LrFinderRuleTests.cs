using K8sTraining.Contract;
using K8sTraining.Training.LrFinder;
using K8sTraining.Training.Plots;

namespace K8sTraining.Trainer.Tests.Unit.Recipes;

[Trait("Category", "Unit")]
public sealed class LrFinderRuleTests
{
    private static readonly LrFinderSweep Sweep = new(1e-6, 10, 100);

    [Fact]
    public void Sweep_Should_GrowExponentiallyFromStartToEnd_When_Stepped()
    {
        Assert.Equal(1e-6, Sweep.LearningRateAt(0), 15);
        Assert.Equal(10, Sweep.LearningRateAt(99), 9);
        Assert.Equal(Sweep.LearningRateAt(50) / Sweep.LearningRateAt(49), Sweep.LearningRateAt(10) / Sweep.LearningRateAt(9), 9);
    }

    // A loss that is flat, falls fastest around lr = 1e-2 (a logistic in log10 lr), bottoms out and then explodes.
    private static List<(double, double)> Curve(double steepestAt = 1e-2) =>
        Enumerable.Range(0, 100).Select(i =>
        {
            var lr = Sweep.LearningRateAt(i);
            var x = Math.Log10(lr) - Math.Log10(steepestAt);
            var loss = 2.3 - (2.0 / (1 + Math.Exp(-4 * x))) + (lr > 1 ? Math.Pow(lr, 2) : 0);
            return (lr, loss);
        }).ToList();

    [Fact]
    public void Suggest_Should_PickTheSteepestDescent_When_TheLossFallsThenDiverges()
    {
        var points = LrFinderRule.Smooth(Curve());

        var suggestion = LrFinderRule.Suggest(points);

        Assert.NotNull(suggestion);
        // Smoothing lags the curve a little: the steepest smoothed slope comes slightly after the true one.
        Assert.InRange(Math.Log10(suggestion!.Value), -2.2, -1.3);
        Assert.True(points.Count < 100, "the sweep stops counting once the loss diverges");
    }

    [Theory]
    [InlineData(LrFinderRuleNames.Steepest)]
    [InlineData(LrFinderRuleNames.Minimum)]
    [InlineData(LrFinderRuleNames.Valley)]
    public void Suggest_Should_GiveNothing_When_TheLossNeverFalls(string rule)
    {
        var rising = Enumerable.Range(0, 100).Select(i => (Sweep.LearningRateAt(i), 1.0 + (i * 0.01))).ToList();

        Assert.Null(LrFinderRule.Suggest(LrFinderRule.Smooth(rising), rule));
    }

    [Fact]
    public void Suggest_Should_GiveATenthOfTheRateAtTheSmoothedMinimum_When_TheRuleIsMinimum()
    {
        var points = LrFinderRule.Smooth(Curve());
        var minimum = points.MinBy(p => p.SmoothedLoss)!;

        var suggestion = LrFinderRule.Suggest(points, LrFinderRuleNames.Minimum);

        Assert.Equal(minimum.LearningRate / 10, suggestion);
        Assert.True(suggestion > LrFinderRule.Suggest(points, LrFinderRuleNames.Steepest), "on this curve the minimum lies more than a decade past the steepest fall");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Suggest_Should_AgreeWithFastaisValley_When_TheRuleIsValley(int seed)
    {
        // A noisy fall, a floor and a rise, as a real sweep gives; fastai's O(n^2) valley() is the reference.
        var random = new Random(seed);
        var raw = Enumerable.Range(0, 100).Select(i =>
        {
            var lr = Sweep.LearningRateAt(i);
            return (lr, 2.3 - (1.5 / (1 + Math.Exp(-2 * (Math.Log10(lr) + 3)))) + (lr > 0.5 ? 3 * lr : 0) + (0.3 * random.NextDouble()));
        }).ToList();
        var points = LrFinderRule.Smooth(raw);

        var suggestion = LrFinderRule.Suggest(points, LrFinderRuleNames.Valley);

        Assert.Equal(FastaiValley(points), suggestion);
    }

    // fastai.callback.schedule.valley, line for line.
    private static double FastaiValley(IReadOnlyList<LrFinderPoint> points)
    {
        var n = points.Count;
        var lds = Enumerable.Repeat(1, n).ToArray();
        int maxStart = 0, maxEnd = 0;
        for (var i = 1; i < n; i++)
        {
            for (var j = 0; j < i; j++)
            {
                if (points[i].SmoothedLoss < points[j].SmoothedLoss && lds[i] < lds[j] + 1)
                {
                    lds[i] = lds[j] + 1;
                }
                if (lds[maxEnd] < lds[i])
                {
                    maxEnd = i;
                    maxStart = maxEnd - lds[maxEnd];
                }
            }
        }
        var sections = (maxEnd - maxStart) / 3.0;
        return points[maxStart + (int)sections + (int)(sections / 2)].LearningRate;
    }

    [Fact]
    public void Suggest_Should_PreferTheMinimumRuleOverAFallAtTheStart_When_TheLossDropsFastestAtOnce()
    {
        // AdamW's shape: the loss halves in the first steps of the sweep, then creeps down to a minimum two decades on.
        var raw = Enumerable.Range(0, 100).Select(i =>
        {
            var lr = Sweep.LearningRateAt(i);
            var loss = 0.9 + (1.4 * Math.Exp(-i / 6.0)) - (0.2 * Math.Exp(-Math.Pow(Math.Log10(lr) + 1.5, 2))) + (lr > 1 ? lr : 0);
            return (lr, loss);
        }).ToList();
        var points = LrFinderRule.Smooth(raw);

        var steepest = LrFinderRule.Suggest(points, LrFinderRuleNames.Steepest)!.Value;
        var minimum = LrFinderRule.Suggest(points, LrFinderRuleNames.Minimum)!.Value;
        var valley = LrFinderRule.Suggest(points, LrFinderRuleNames.Valley)!.Value;

        Assert.True(minimum > 10 * steepest, $"minimum {minimum} against steepest {steepest}");
        Assert.True(valley > 10 * steepest, $"valley {valley} against steepest {steepest}");
    }

    [Fact]
    public void Report_Should_WriteTheCsvAndAPng_When_GivenASweep()
    {
        var directory = Path.Combine(Path.GetTempPath(), "lr-finder-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var points = LrFinderRule.Smooth(Curve());
            var suggestion = LrFinderRule.Suggest(points);

            var (csv, png) = LrFinderReport.Write(directory, points, suggestion);

            var lines = File.ReadAllLines(csv);
            Assert.Equal("step,learningRate,loss,smoothedLoss,suggested", lines[0]);
            Assert.Equal(points.Count + 1, lines.Length);
            Assert.Single(lines, l => l.EndsWith(",true", StringComparison.Ordinal));
            var bytes = File.ReadAllBytes(png);
            Assert.True(bytes.Length > 1000);
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes[..4]);
        }
        finally
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }
}

[Trait("Category", "Unit")]
public sealed class TrainingPlotsTests
{
    [Fact]
    public void Write_Should_DrawThreePngs_When_GivenEpochsAndSteps()
    {
        var directory = Path.Combine(Path.GetTempPath(), "plots-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var epochs = Enumerable.Range(0, 5).Select(e => new EpochPoint(e, 30.0 * (e + 1), 1.0 / (e + 1), 1.2 / (e + 1), 0.5 + (0.08 * e), double.NaN)).ToList();
            var steps = Enumerable.Range(0, 200).Select(s => new SchedulePoint(s, 0.1 * Math.Sin(s / 60.0), 0.9)).ToList();

            var files = TrainingPlots.Write(directory, epochs, steps);

            Assert.Equal(3, files.Count);
            Assert.All(files, f => Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(f)[..4]));
        }
        finally
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }
}
