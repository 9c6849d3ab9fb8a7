using K8sTraining.Contract;

namespace K8sTraining.Training.Loop;

/// <summary>
/// Decides, at an epoch end, whether the epoch's validation result is the new best (<c>--best-metric</c>, among the
/// <c>--best-weights</c>): strictly better than the best so far, or the first. A pure function of the state it is given,
/// whose result goes into the checkpoint, so a resumed run decides as the uninterrupted one did.
/// </summary>
public static class BestTracker
{
    /// <summary>The metric the run keeps its best by, or null for none: explicit, else val-accuracy with a validation split.</summary>
    public static string? Metric(string? requested, bool hasValidation) => requested switch
    {
        BestMetricNames.None => null,
        null => hasValidation ? BestMetricNames.ValidationAccuracy : null,
        _ => requested,
    };

    /// <summary>The candidate's value: accuracy or loss of the chosen weights; null when not measured.</summary>
    public static double? Value(string metric, string weights, EpochMetrics epoch)
    {
        ArgumentNullException.ThrowIfNull(epoch);
        var ema = weights == BestWeightsNames.Ema;
        return metric == BestMetricNames.ValidationLoss
            ? (ema ? epoch.EmaValidationLoss : epoch.ValidationLoss)
            : (ema ? epoch.EmaValidationAccuracy : epoch.ValidationAccuracy);
    }

    /// <summary>The best after an epoch that measured <paramref name="value"/>: a new one when it improves, else <paramref name="current"/>.</summary>
    public static BestCheckpoint? Next(BestCheckpoint? current, string metric, string weights, double? value, long globalStep, int epoch)
    {
        if (value is not { } v || !double.IsFinite(v))
        {
            return current;
        }
        var better = current is null || current.Metric != metric || current.Weights != weights
            || (BestMetricNames.HigherIsBetter(metric) ? v > current.Value : v < current.Value);
        return better ? new BestCheckpoint(globalStep, epoch, metric, v, weights) : current;
    }
}
