using K8sTraining.Chaos.Scenarios;

namespace K8sTraining.Chaos.Runner;

/// <summary>Runs the scenarios one after another (the machine is small), then the secrets scan over all they produced.</summary>
public static class ChaosSuite
{
    public static IReadOnlyList<IChaosScenario> Scenarios() =>
    [
        new InterruptionScenario(),
        new StorageFaultScenario(),
        new DiskScenario(),
        new InputFuzzScenario(),
    ];

    public static async Task<IReadOnlyList<ScenarioResult>> RunAsync(ChaosContext context, CancellationToken cancellationToken)
    {
        var results = new List<ScenarioResult>();
        foreach (var scenario in Scenarios())
        {
            context.Log($"--- {scenario.Name} (at {context.Elapsed.TotalSeconds:0} s)");
            ScenarioResult result;
            try
            {
                result = await scenario.RunAsync(context, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                result = new ScenarioResult(scenario.Name);
                result.Violation($"the scenario itself failed: {e}");
            }
            foreach (var v in result.Violations)
            {
                context.Log($"VIOLATION [{scenario.Name}] {v}");
            }
            foreach (var n in result.Notes)
            {
                context.Log($"note [{scenario.Name}] {n}");
            }
            results.Add(result);
        }
        results.Add(SecretsScan.Run(context));
        return results;
    }
}
