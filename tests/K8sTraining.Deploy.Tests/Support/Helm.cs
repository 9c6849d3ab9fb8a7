namespace K8sTraining.Deploy.Tests.Support;

/// <summary>The helm 4 binary that scripts/install-deps.sh unpacks into .local/bin, run as a process.</summary>
public static class Helm
{
    public const string ReleaseName = "kt";
    public const string ReleaseNamespace = "k8s-training-system";

    // Helm keeps its own config, cache and data apart from the user's, so a test never reads a developer's repos.
    private static readonly Lazy<IReadOnlyDictionary<string, string>> Environment = new(() =>
    {
        var home = Path.Combine(Path.GetTempPath(), "k8straining-deploy-tests-helm");
        return new Dictionary<string, string>
        {
            ["HELM_CONFIG_HOME"] = Path.Combine(home, "config"),
            ["HELM_CACHE_HOME"] = Path.Combine(home, "cache"),
            ["HELM_DATA_HOME"] = Path.Combine(home, "data"),
        };
    });

    public static async Task<ProcessResult> RunAsync(params string[] arguments)
    {
        Assert.True(
            File.Exists(RepositoryPaths.Helm),
            $"helm not found at {RepositoryPaths.Helm}; run ./scripts/install-deps.sh (make deps) to unpack it");
        return await ProcessRunner.RunAsync(RepositoryPaths.Helm, arguments, Environment.Value, TimeSpan.FromMinutes(1));
    }

    /// <summary>helm template with the given values (YAML), CRDs included; fails the test when helm fails.</summary>
    public static async Task<RenderedChart> TemplateAsync(string valuesYaml, string? chartPath = null)
    {
        var result = await TemplateRawAsync(valuesYaml, chartPath);
        Assert.True(result.ExitCode == 0, $"helm template failed: {result.Describe()}");
        return RenderedChart.Parse(result.StandardOutput);
    }

    public static async Task<ProcessResult> TemplateRawAsync(string valuesYaml, string? chartPath = null)
    {
        using var values = new TemporaryFile(".yaml", valuesYaml);
        return await RunAsync(
            "template", ReleaseName, chartPath ?? RepositoryPaths.Chart,
            "--namespace", ReleaseNamespace, "--include-crds", "--values", values.Path);
    }

    public static async Task<ProcessResult> LintAsync(string valuesYaml)
    {
        using var values = new TemporaryFile(".yaml", valuesYaml);
        return await RunAsync("lint", RepositoryPaths.Chart, "--strict", "--namespace", ReleaseNamespace, "--values", values.Path);
    }
}

/// <summary>A file in the temp folder that is deleted on dispose.</summary>
public sealed class TemporaryFile : IDisposable
{
    public TemporaryFile(string extension, string content)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"k8straining-{Guid.NewGuid():N}{extension}");
        File.WriteAllText(Path, content);
    }

    public string Path { get; }

    public void Dispose() => File.Delete(Path);
}
