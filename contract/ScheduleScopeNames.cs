namespace K8sTraining.Contract;

/// <summary>How far a staged run's learning-rate schedule reaches (<c>--schedule-scope</c>, <c>spec.scheduleScope</c>).</summary>
public static class ScheduleScopeNames
{
    /// <summary>One schedule over all the stages' steps.</summary>
    public const string Global = "global";

    /// <summary>Each stage runs its own schedule from its start (the default).</summary>
    public const string Stage = "stage";

    /// <summary>Every allowed value, in the order the CRD lists them.</summary>
    public static readonly IReadOnlyList<string> All = [Global, Stage];
}
