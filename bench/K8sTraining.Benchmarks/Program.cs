using K8sTraining.Benchmarks;

// Every IBenchmarkSuite in this assembly runs, or only those named on the command line.
var suites = typeof(IBenchmarkSuite).Assembly.GetTypes()
    .Where(t => typeof(IBenchmarkSuite).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
    .Select(t => (IBenchmarkSuite)Activator.CreateInstance(t)!)
    .OrderBy(s => s.Name, StringComparer.Ordinal)
    .ToList();
var wanted = args.Length == 0 ? suites : suites.Where(s => args.Contains(s.Name, StringComparer.OrdinalIgnoreCase)).ToList();
if (wanted.Count == 0)
{
    Console.Error.WriteLine($"No benchmark suite named {string.Join(", ", args)}. Known: {string.Join(", ", suites.Select(s => s.Name))}.");
    return 2;
}

var root = FindRepositoryRoot(AppContext.BaseDirectory);
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

static string FindRepositoryRoot(string start)
{
    for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "K8sTraining.sln")))
        {
            return dir.FullName;
        }
    }
    throw new InvalidOperationException($"K8sTraining.sln not found above {start}.");
}
