namespace K8sTraining.LocalCluster.Tests.NodeAgent;

/// <summary>The repository root: the nearest directory up from the test binaries that holds K8sTraining.sln.</summary>
internal static class RepositoryRoot
{
    public static string Path { get; } = Find();

    private static string Find()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(directory.FullName, "K8sTraining.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("K8sTraining.sln not found above " + AppContext.BaseDirectory);
    }
}
