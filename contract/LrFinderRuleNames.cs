namespace K8sTraining.Contract;

/// <summary>How the LR finder turns its curve into a learning rate (<c>--lr-find-rule</c>, <c>spec.training.lrFinder.rule</c>).</summary>
public static class LrFinderRuleNames
{
    /// <summary>Where the smoothed loss falls fastest against log10(learning rate), before its minimum (fastai's "steep").</summary>
    public const string Steepest = "steepest";

    /// <summary>A tenth of the learning rate at the smoothed loss's minimum (fastai's "minimum", Smith's rule of thumb).</summary>
    public const string Minimum = "minimum";

    /// <summary>
    /// Half way down the longest valley: the longest run over which the smoothed loss keeps falling, and the point at
    /// half of it (fastai's "valley", its default since 2.5).
    /// </summary>
    public const string Valley = "valley";

    /// <summary>Every allowed value, in the order the CRD lists them.</summary>
    public static readonly IReadOnlyList<string> All = [Steepest, Minimum, Valley];
}
