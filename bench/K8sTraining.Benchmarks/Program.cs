using System.CommandLine;
using K8sTraining.Benchmarks;
using K8sTraining.TestSupport;

// Every IBenchmarkSuite in this assembly runs, or only those named on the command line.
var suites = typeof(IBenchmarkSuite).Assembly.GetTypes()
    .Where(t => typeof(IBenchmarkSuite).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
    .Select(t => (IBenchmarkSuite)Activator.CreateInstance(t)!)
    .OrderBy(s => s.Name, StringComparer.Ordinal)
    .ToList();
var names = new Argument<string[]>("suite")
{
    Description = $"suites to run (default: all): {string.Join(", ", suites.Select(s => s.Name))}",
    Arity = ArgumentArity.ZeroOrMore,
};
var command = new RootCommand("Runs the benchmarks side by side and prints their ratios.") { names };
var parsed = command.Parse(args);
if (parsed.Errors.Count > 0)
{
    Console.Error.WriteLine($"{string.Join("; ", parsed.Errors.Select(e => e.Message))}; run with --help for the suites.");
    return 2;
}
if (parsed.Action is not null)
{
    // --help or --version.
    return await parsed.InvokeAsync();
}
var asked = parsed.GetValue(names) ?? [];
var wanted = asked.Length == 0 ? suites : suites.Where(s => asked.Contains(s.Name, StringComparer.OrdinalIgnoreCase)).ToList();
if (wanted.Count == 0)
{
    Console.Error.WriteLine($"No benchmark suite named {string.Join(", ", asked)}. Known: {string.Join(", ", suites.Select(s => s.Name))}.");
    return 2;
}

var root = RepositoryPaths.Root;
var scratch = Path.Combine(root, ".local", "bench", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", System.Globalization.CultureInfo.InvariantCulture));
Directory.CreateDirectory(scratch);
using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
foreach (var suite in wanted)
{
    Console.WriteLine($"## {suite.Name}");
    await suite.RunAsync(new BenchmarkContext(root, Path.Combine(scratch, suite.Name)), cts.Token);
    Console.WriteLine();
}
return 0;
