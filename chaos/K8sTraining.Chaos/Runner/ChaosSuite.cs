using K8sTraining.Chaos.Scenarios;

namespace K8sTraining.Chaos.Runner;

/// <summary>Runs the scenarios one after another (the machine is small), then the secrets scan over all they produced.</summary>
public static class ChaosSuite
{
    /// <summary>Every scenario, in the order `make chaos` runs them: the trainer's and storage's, then the cluster's.</summary>
    public static IReadOnlyList<IChaosScenario> Scenarios() => [.. TrainerScenarios(), .. ClusterScenarios()];

    /// <summary>Section 1 and the trainer's inputs: the published trainer against s3rver, no cluster.</summary>
    public static IReadOnlyList<IChaosScenario> TrainerScenarios() =>
    [
        new InterruptionScenario(),
        new StorageFaultScenario(),
        new DiskScenario(),
        new InputFuzzScenario(),
    ];

    /// <summary>Section 2 and the spec fuzz: the operator on the local control plane.</summary>
    public static IReadOnlyList<IChaosScenario> ClusterScenarios() =>
    [
        new SieveScenario(),
        new ApiFaultScenario(),
        new NodeLossScenario(),
        new LeaderChurnScenario(),
        new SoakScenario(),
        new SpecFuzzScenario(),
    ];

    /// <summary>
    /// The scenarios to run: all of them, or those named in <paramref name="only"/> (CHAOS_ONLY, comma-separated). An
    /// unknown name is an error that lists the known ones.
    /// </summary>
    public static IReadOnlyList<IChaosScenario> Select(string? only)
    {
        var all = Scenarios();
        if (string.IsNullOrWhiteSpace(only))
        {
            return all;
        }
        var names = only.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var unknown = names.Where(n => all.All(s => s.Name != n)).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException($"CHAOS_ONLY names no scenario called {string.Join(", ", unknown.Select(u => $"'{u}'"))}; the scenarios are: {string.Join(", ", all.Select(s => $"'{s.Name}'"))}.");
        }
        return all.Where(s => names.Contains(s.Name)).ToList();
    }

    public static Task<IReadOnlyList<ScenarioResult>> RunAsync(ChaosContext context, CancellationToken cancellationToken) =>
        RunAsync(context, Scenarios(), cancellationToken);

    public static async Task<IReadOnlyList<ScenarioResult>> RunAsync(ChaosContext context, IReadOnlyList<IChaosScenario> scenarios, CancellationToken cancellationToken)
    {
        var results = new List<ScenarioResult>();
        foreach (var scenario in scenarios)
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
