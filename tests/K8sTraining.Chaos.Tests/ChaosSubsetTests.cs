using K8sTraining.Chaos.Runner;
using Xunit.Abstractions;

namespace K8sTraining.Chaos.Tests;

/// <summary>
/// The `make test` share of `make chaos`: the same scenarios with the subset profile (a few interruptions of each kind,
/// the proxy faults and an s3rver restart, ENOSPC and a read-only directory, a batch of fuzz cases, the secrets scan)
/// from a fixed seed, so a failure here replays with `make chaos CHAOS_PROFILE=subset CHAOS_SEED=19`.
/// </summary>
[Trait("Category", "Integration")]
public sealed class ChaosSubsetTests(ITestOutputHelper output)
{
    private const int Seed = 19;

    [Fact]
    public async Task Suite_Should_FindNoInvariantViolation_When_TheSeededSubsetRuns()
    {
        var seed = TestSeed.Resolve(Environment.GetEnvironmentVariable(TestSeed.Variable), () => Seed);
        output.WriteLine($"chaos seed {seed} (replay with {TestSeed.Variable}={seed}, or make chaos CHAOS_PROFILE=subset CHAOS_SEED={seed})");
        var context = new ChaosContext(seed, TimeSpan.FromSeconds(150), ChaosProfile.Subset, output.WriteLine);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(6));

        var results = await ChaosSuite.RunAsync(context, timeout.Token);

        output.WriteLine(ResultTable.Format(results));
        var violations = results.SelectMany(r => r.Violations.Select(v => $"[{r.Name}] {v}")).ToList();
        Assert.True(violations.Count == 0, $"seed {seed}:\n{string.Join("\n", violations)}");
        var interruptions = results.Single(r => r.Name == "trainer interruptions");
        Assert.True(interruptions.LostGraceful.Count > 0 && interruptions.LostHard.Count > 0, "the subset must interrupt gracefully and hard");
        Assert.True(results.Single(r => r.Name == "secrets scan").Runs > 0, "the secrets scan saw no text");
        // Kept for inspection when the test fails; about 100 MB of checkpoints and s3rver data otherwise.
        Directory.Delete(context.WorkDirectory, recursive: true);
    }
}
