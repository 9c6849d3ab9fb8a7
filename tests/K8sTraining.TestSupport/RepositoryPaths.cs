namespace K8sTraining.TestSupport;

/// <summary>Paths inside the repository (found by walking up from the test binaries to K8sTraining.sln).</summary>
public static class RepositoryPaths
{
    private static readonly Lazy<string> LazyRoot = new(() => FindRoot(AppContext.BaseDirectory));

    public static string Root => LazyRoot.Value;

    /// <summary>A path below the repository root.</summary>
    public static string Of(params string[] parts) => Path.Combine([Root, .. parts]);

    public static string Chart => Of("charts", "k8s-training");

    public static string Dashboard => Of("charts", "k8s-training", "dashboards", "k8s-training.json");

    public static string MetricsDoc => Of("README.md");

    /// <summary>The helm binary `make deps` installs.</summary>
    public static string Helm => Of(".local", "bin", "helm");

    /// <summary>The folder `make publish` writes a program to.</summary>
    public static string Publish(string program) => Of(".local", "publish", program);

    /// <summary>A published program's dll; fails with what to run when it is missing.</summary>
    public static string Published(string program, string dll)
    {
        var path = Path.Combine(Publish(program), dll);
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
