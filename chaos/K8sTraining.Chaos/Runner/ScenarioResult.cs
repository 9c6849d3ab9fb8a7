namespace K8sTraining.Chaos.Runner;

/// <summary>What one scenario measured: one row of the table, plus every invariant violation with its case.</summary>
public sealed class ScenarioResult(string name)
{
    public string Name { get; } = name;

    public int Runs { get; set; }

    public int Interruptions { get; set; }

    public List<string> Violations { get; } = [];

    public List<long> LostGraceful { get; } = [];

    public List<long> LostHard { get; } = [];

    public List<double> RecoverySeconds { get; } = [];

    /// <summary>Operator RSS before/after in MiB (operator scenarios only; null here).</summary>
    public (double Before, double After)? RssMiB { get; set; }

    /// <summary>Free text: which variant ran (e.g. tmpfs or shim), what was skipped and why.</summary>
    public List<string> Notes { get; } = [];

    public void Violation(string text) => Violations.Add(text);
}
