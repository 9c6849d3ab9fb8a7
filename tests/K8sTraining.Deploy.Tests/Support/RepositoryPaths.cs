namespace K8sTraining.Deploy.Tests.Support;

/// <summary>Paths inside the repository, found by walking up from the test binaries to K8sTraining.sln.</summary>
public static class RepositoryPaths
{
    private static readonly Lazy<string> LazyRoot = new(FindRoot);

    public static string Root => LazyRoot.Value;

    public static string Chart => Path.Combine(Root, "charts", "k8s-training");

    public static string Helm => Path.Combine(Root, ".local", "bin", "helm");

    public static string Of(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "K8sTraining.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"K8sTraining.sln not found above {AppContext.BaseDirectory}");
    }
}
