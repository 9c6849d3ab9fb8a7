namespace K8sTraining.Chaos.Runner;

/// <summary>One row of the table: a story run under faults, with its invariants checked. Operator scenarios plug in here too.</summary>
public interface IChaosScenario
{
    string Name { get; }

    Task<ScenarioResult> RunAsync(ChaosContext context, CancellationToken cancellationToken);
}
