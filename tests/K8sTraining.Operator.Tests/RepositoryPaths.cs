namespace K8sTraining.Operator.Tests;

/// <summary>Finds the repository (walks up to K8sTraining.sln) and the published programs under .local/publish.</summary>
public static class RepositoryPaths
{
    public static string Root { get; } = FindRoot(AppContext.BaseDirectory);

    public static string Publish(string program) => Path.Combine(Root, ".local", "publish", program);

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
