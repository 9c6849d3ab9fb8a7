namespace K8sTraining.Contract;

/// <summary>Which weights a stage starts from (<c>stages[].initFrom</c>).</summary>
public static class StageInitNames
{
    /// <summary>The previous stage's last weights (the default).</summary>
    public const string Previous = "previous";

    /// <summary>The previous stage's best weights (<c>stages/&lt;name&gt;/best</c>).</summary>
    public const string BestOfPrevious = "best-of-previous";

    /// <summary>Every allowed value, in the order the CRD lists them.</summary>
    public static readonly IReadOnlyList<string> All = [Previous, BestOfPrevious];
}
