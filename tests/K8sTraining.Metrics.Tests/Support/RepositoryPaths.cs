namespace K8sTraining.Metrics.Tests.Support;

/// <summary>The repository root (found by walking up to K8sTraining.sln) and the published programs under .local/publish.</summary>
public static class RepositoryPaths
{
    public static string Root { get; } = FindRoot(AppContext.BaseDirectory);

    public static string Dashboard => Path.Combine(Root, "charts", "k8s-training", "dashboards", "k8s-training.json");

    public static string MetricsDoc => Path.Combine(Root, "README.md");

    public static string Published(string program, string dll)
    {
        var path = Path.Combine(Root, ".local", "publish", program, dll);
        return File.Exists(path)
            ? path
            : throw new InvalidOperationException($"{path} is missing: run `make publish` (or dotnet publish {program}/ -c Release -o .local/publish/{program}).");
    }

    private static string FindRoot(string start)
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
}
