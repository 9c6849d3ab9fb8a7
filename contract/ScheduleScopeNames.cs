namespace K8sTraining.Contract;

/// <summary>What a staged run's learning-rate schedule spans (<c>--schedule-scope</c>, <c>spec.scheduleScope</c>).</summary>
public static class ScheduleScopeNames
{
    /// <summary>One schedule over the whole run, its position counted in optimizer steps across the stages.</summary>
    public const string Global = "global";

    /// <summary>Each stage runs its own schedule over its own optimizer steps (the default).</summary>
    public const string Stage = "stage";

    /// <summary>Every allowed value.</summary>
    public static readonly IReadOnlyList<string> All = [Global, Stage];
}
