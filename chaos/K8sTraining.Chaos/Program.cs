using System.Globalization;
using K8sTraining.Chaos.Runner;

// make chaos: CHAOS_SECONDS (default 900) bounds the run, CHAOS_SEED replays one; CHAOS_PROFILE=subset runs the small one;
// CHAOS_ONLY runs the named scenarios only.
int seed, seconds;
ChaosProfile profile;
IReadOnlyList<IChaosScenario> scenarios;
try
{
    var seedText = Environment.GetEnvironmentVariable("CHAOS_SEED");
    seed = string.IsNullOrWhiteSpace(seedText) ? Random.Shared.Next(1, int.MaxValue) : ParseInt("CHAOS_SEED", seedText);
    var secondsText = Environment.GetEnvironmentVariable("CHAOS_SECONDS");
    seconds = string.IsNullOrWhiteSpace(secondsText) ? 900 : ParseInt("CHAOS_SECONDS", secondsText);
    profile = Environment.GetEnvironmentVariable("CHAOS_PROFILE") switch
    {
        null or "" or "full" => ChaosProfile.Full,
        "subset" => ChaosProfile.Subset,
        var other => throw new ArgumentException($"CHAOS_PROFILE={other} is not a profile: use full (the default) or subset."),
    };
    // CHAOS_ONLY: a comma-separated list of scenario names, to run a few of them (the secrets scan always runs).
    scenarios = ChaosSuite.Select(Environment.GetEnvironmentVariable("CHAOS_ONLY"));
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"chaos: {e.Message}");
    return 2;
}
Console.WriteLine($"chaos seed {seed} (replay: make chaos CHAOS_SEED={seed} CHAOS_SECONDS={seconds}), profile {profile.Name}, budget {seconds} s");
var context = new ChaosContext(seed, TimeSpan.FromSeconds(seconds), profile, line => Console.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {line}"));
using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
var results = await ChaosSuite.RunAsync(context, scenarios, cts.Token);
Console.WriteLine();
Console.WriteLine($"chaos seed {seed}, {context.Elapsed.TotalSeconds:0} s");
Console.Write(ResultTable.Format(results));
var violations = results.Sum(r => r.Violations.Count);
if (violations > 0)
{
    Console.WriteLine($"{violations} invariant violation(s); replay with CHAOS_SEED={seed} CHAOS_SECONDS={seconds}:");
    foreach (var r in results)
    {
        foreach (var v in r.Violations)
        {
            Console.WriteLine($"  [{r.Name}] {v}");
        }
    }
    return 1;
}
try
{
    Directory.Delete(context.WorkDirectory, recursive: true);
}
catch (IOException)
{
}
return 0;

static int ParseInt(string name, string text) =>
    int.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v > 0
        ? v
        : throw new ArgumentException($"{name}={text} is not a positive whole number.");
