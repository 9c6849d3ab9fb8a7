using System.Globalization;
using Xunit.Abstractions;

namespace K8sTraining.TestSupport;

/// <summary>
/// Randomness a failure can replay: the seed is printed to the test's output, and K8STRAINING_TEST_SEED=N runs the
/// test again with the same choices.
/// </summary>
public static class TestSeed
{
    public const string Variable = "K8STRAINING_TEST_SEED";

    /// <summary>A generator seeded from K8STRAINING_TEST_SEED when set, else from a fresh seed; the seed is printed.</summary>
    public static Random Create(ITestOutputHelper output)
    {
        var seed = Resolve(Environment.GetEnvironmentVariable(Variable), Random.Shared.Next);
        output.WriteLine($"random seed {seed} (replay with {Variable}={seed})");
        return new Random(seed);
    }

    /// <summary>The seed the variable names, or a fresh one when it is unset or empty; a value that is not a number fails.</summary>
    public static int Resolve(string? variable, Func<int> fresh) =>
        string.IsNullOrWhiteSpace(variable)
            ? fresh()
            : int.TryParse(variable.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var seed)
                ? seed
                : throw new ArgumentException($"{Variable}={variable} is not a whole number.");
}
