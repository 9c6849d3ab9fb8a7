namespace K8sTraining.Contract;

/// <summary>
/// What the best checkpoint is chosen by (<c>--best-metric</c>, <c>spec.training.bestMetric</c>), always measured on the
/// validation split, never on the test split.
/// </summary>
public static class BestMetricNames
{
    /// <summary>Highest validation accuracy.</summary>
    public const string ValidationAccuracy = "val-accuracy";

    /// <summary>Lowest validation loss.</summary>
    public const string ValidationLoss = "val-loss";

    /// <summary>No best checkpoint.</summary>
    public const string None = "none";

    /// <summary>Every allowed value, in the order the CRD lists them.</summary>
    public static readonly IReadOnlyList<string> All = [ValidationAccuracy, ValidationLoss, None];

    /// <summary>True when a larger value of <paramref name="metric"/> is better.</summary>
    public static bool HigherIsBetter(string metric) => metric == ValidationAccuracy;
}

/// <summary>Which weights are candidates for the best checkpoint (<c>--best-weights</c>): the trained ones or their EMA.</summary>
public static class BestWeightsNames
{
    /// <summary>The weights the optimizer trains.</summary>
    public const string Raw = "raw";

    /// <summary>The exponential moving average of the weights (<c>--ema-decay</c>).</summary>
    public const string Ema = "ema";

    /// <summary>Every allowed value, in the order the CRD lists them.</summary>
    public static readonly IReadOnlyList<string> All = [Raw, Ema];
}

/// <summary>When label smoothing applies (<c>--label-smoothing</c>): documented once, here and in the trainer README.</summary>
public static class LabelSmoothingRule
{
    /// <summary>
    /// Label smoothing applies to the batches that are not mixed: a mixup or CutMix batch already has soft targets, so
    /// smoothing them again would only add noise. With mixing switched off for the last epochs, smoothing takes over.
    /// </summary>
    public const string Text = "applied to batches that are not mixed (mixup and CutMix targets are soft already)";
}
