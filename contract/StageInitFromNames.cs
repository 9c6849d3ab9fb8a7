namespace K8sTraining.Contract;

/// <summary>Where a stage's weights start (<c>stages[].initFrom</c>).</summary>
public static class StageInitFromNames
{
    /// <summary>The previous stage's last weights (the default).</summary>
    public const string Previous = "previous";

    /// <summary>The previous stage's best weights (by the best metric on the validation split; needs one).</summary>
    public const string BestOfPrevious = "best-of-previous";

    /// <summary>Every allowed value.</summary>
    public static readonly IReadOnlyList<string> All = [Previous, BestOfPrevious];
}
