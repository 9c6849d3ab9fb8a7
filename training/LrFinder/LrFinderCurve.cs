using K8sTraining.Contract;

namespace K8sTraining.Training.LrFinder;

/// <summary>
/// The learning-rate range test (Smith 2017, as fastai runs it): the learning rate grows exponentially from
/// <see cref="StartLearningRate"/> to <see cref="EndLearningRate"/> over <see cref="Steps"/> optimizer steps on a
/// copy of the model, and the loss of each step is recorded.
/// </summary>
public sealed record LrFinderSweep(double StartLearningRate = 1e-7, double EndLearningRate = 10, int Steps = 100)
{
    /// <summary>The learning rate of sweep step <paramref name="i"/>: start * (end / start)^(i / (steps - 1)).</summary>
    public double LearningRateAt(int i) =>
        Steps <= 1 ? StartLearningRate : StartLearningRate * Math.Pow(EndLearningRate / StartLearningRate, (double)i / (Steps - 1));
}

/// <summary>One step of the sweep: its learning rate, the raw loss and the smoothed loss.</summary>
public readonly record struct LrFinderPoint(double LearningRate, double Loss, double SmoothedLoss);

/// <summary>
/// Smoothing and the suggestion rule. The loss is smoothed with an exponential moving average (beta 0.98) with bias
/// correction; the sweep stops counting once the smoothed loss exceeds 4 times its minimum (divergence). The suggested
/// learning rate is the one where the smoothed loss falls fastest against log10(learning rate) (the steepest negative
/// slope, by central differences), looking only at points before the minimum of the smoothed loss and skipping the
/// first 10% of the sweep, where the average is still settling (<c>--lr-find-rule steepest</c>, the default). With
/// <c>--lr-find-rule minimum</c> it is a tenth of the learning rate at the smoothed loss's minimum (fastai's "minimum":
/// higher than the steepest point when the loss falls fastest at the very start, as AdamW's often does). With
/// <c>--lr-find-rule valley</c> (fastai's default) it is the point half way down the longest valley: the longest
/// strictly falling subsequence of smoothed losses, from its start as fastai counts it (its end minus its length), at
/// a third plus a sixth of its span. If the loss never falls, no rule gives a suggestion.
/// </summary>
public static class LrFinderRule
{
    public const double Beta = 0.98;
    public const double DivergenceFactor = 4;

    /// <summary>The points with their smoothed losses, up to and including the first diverged one.</summary>
    public static IReadOnlyList<LrFinderPoint> Smooth(IReadOnlyList<(double LearningRate, double Loss)> raw)
    {
        ArgumentNullException.ThrowIfNull(raw);
        var points = new List<LrFinderPoint>(raw.Count);
        var average = 0.0;
        var best = double.PositiveInfinity;
        for (var i = 0; i < raw.Count; i++)
        {
            var (lr, loss) = raw[i];
            if (!double.IsFinite(loss))
            {
                break;
            }
            average = (Beta * average) + ((1 - Beta) * loss);
            var smoothed = average / (1 - Math.Pow(Beta, i + 1));
            points.Add(new LrFinderPoint(lr, loss, smoothed));
            best = Math.Min(best, smoothed);
            if (smoothed > DivergenceFactor * best)
            {
                break;
            }
        }
        return points;
    }

    /// <summary>What <c>--lr-find-rule minimum</c> divides the learning rate at the smoothed loss's minimum by.</summary>
    public const double MinimumDivisor = 10;

    /// <summary>The suggested learning rate by <paramref name="rule"/> (see the class), or null when the smoothed loss never falls.</summary>
    public static double? Suggest(IReadOnlyList<LrFinderPoint> points, string rule = LrFinderRuleNames.Steepest)
    {
        ArgumentNullException.ThrowIfNull(points);
        if (points.Count < 5)
        {
            return null;
        }
        var minimum = 0;
        for (var i = 1; i < points.Count; i++)
        {
            if (points[i].SmoothedLoss < points[minimum].SmoothedLoss)
            {
                minimum = i;
            }
        }
        return rule switch
        {
            LrFinderRuleNames.Steepest => Steepest(points, minimum),
            LrFinderRuleNames.Minimum => minimum == 0 ? null : points[minimum].LearningRate / MinimumDivisor,
            LrFinderRuleNames.Valley => minimum == 0 ? null : ValleyOf(points),
            _ => throw new ArgumentOutOfRangeException(nameof(rule), rule, $"allowed: {string.Join(", ", LrFinderRuleNames.All)}"),
        };
    }

    /// <summary>
    /// fastai's valley: lds[i] is the length of the longest strictly falling subsequence ending at point i (found in
    /// O(n log n) by patience sorting); the valley ends at the first point of the longest one and starts that many points
    /// before it; the suggestion lies a third plus a sixth of the way in.
    /// </summary>
    private static double ValleyOf(IReadOnlyList<LrFinderPoint> points)
    {
        // tails[k]: the largest last value of a strictly falling subsequence of length k + 1 seen so far.
        var tails = new List<double>();
        var end = 0;
        var longest = 0;
        for (var i = 0; i < points.Count; i++)
        {
            var loss = points[i].SmoothedLoss;
            // The first length whose tail is not above this loss: the loss extends the subsequence one shorter.
            var low = 0;
            var high = tails.Count;
            while (low < high)
            {
                var middle = (low + high) / 2;
                if (tails[middle] > loss)
                {
                    low = middle + 1;
                }
                else
                {
                    high = middle;
                }
            }
            if (low == tails.Count)
            {
                tails.Add(loss);
            }
            else
            {
                tails[low] = loss;
            }
            if (low + 1 > longest)
            {
                longest = low + 1;
                end = i;
            }
        }
        var start = end - longest;
        var sections = (end - start) / 3.0;
        var index = Math.Clamp(start + (int)sections + (int)(sections / 2), 0, points.Count - 1);
        return points[index].LearningRate;
    }

    private static double? Steepest(IReadOnlyList<LrFinderPoint> points, int minimum)
    {
        var first = Math.Max(1, points.Count / 10);
        double? bestSlope = null;
        var best = -1;
        for (var i = first; i < minimum && i + 1 < points.Count; i++)
        {
            var slope = (points[i + 1].SmoothedLoss - points[i - 1].SmoothedLoss)
                / (Math.Log10(points[i + 1].LearningRate) - Math.Log10(points[i - 1].LearningRate));
            if (slope < 0 && (bestSlope is null || slope < bestSlope))
            {
                bestSlope = slope;
                best = i;
            }
        }
        return best < 0 ? null : points[best].LearningRate;
    }
}
