using K8sTraining.Deploy.Tests.Support;

namespace K8sTraining.Deploy.Tests.Chart;

[Trait("Category", "Integration")]
public sealed class DashboardsConfigMapTests
{
    [Fact]
    public async Task DashboardsConfigMap_Should_ShipEveryDashboardFileForGrafanasSidecar_When_ChartHasDashboards()
    {
        using var chartCopy = ChartCopy.Create();
        var dashboards = new Dictionary<string, string>
        {
            ["jobs.json"] = """{"title": "Jobs", "panels": [{"expr": "sum by (phase) (k8straining_jobs)"}]}""",
            ["operator.json"] = "{\n  \"title\": \"Operator\",\n  \"tags\": [\"k8straining\"]\n}\n",
        };
        foreach (var (name, content) in dashboards)
        {
            File.WriteAllText(Path.Combine(chartCopy.Path, "dashboards", name), content);
        }

        var configMap = (await Helm.TemplateAsync("{}", chartCopy.Path)).Single("ConfigMap").Json;

        Assert.Equal("1", (string?)configMap["metadata"]!["labels"]!["grafana_dashboard"]);
        Assert.Equal(Helm.ReleaseNamespace, (string?)configMap["metadata"]!["namespace"]);
        var data = configMap["data"]!.AsObject();
        Assert.Equal(dashboards.Keys.Order(), data.Select(d => d.Key).Order());
        foreach (var (name, content) in dashboards)
        {
            Assert.Equal(content.TrimEnd('\n'), (string?)data[name]);
        }
    }

    [Fact]
    public async Task DashboardsConfigMap_Should_GoToGrafanasNamespaceWithFolderAnnotation_When_Configured()
    {
        using var chartCopy = ChartCopy.Create();
        File.WriteAllText(Path.Combine(chartCopy.Path, "dashboards", "jobs.json"), "{}");

        var configMap = (await Helm.TemplateAsync(
            "dashboards: {namespace: monitoring, annotations: {grafana_folder: K8sTraining}}", chartCopy.Path)).Single("ConfigMap").Json;

        Assert.Equal("monitoring", (string?)configMap["metadata"]!["namespace"]);
        Assert.Equal("K8sTraining", (string?)configMap["metadata"]!["annotations"]!["grafana_folder"]);
    }

    [Fact]
    public async Task DashboardsConfigMap_Should_HoldTheRepositorysDashboards_When_DefaultValues()
    {
        var files = Directory.GetFiles(Path.Combine(RepositoryPaths.Chart, "dashboards"), "*.json");
        var chart = await Renders.OfAsync(ValueSets.Default);

        var configMaps = chart.OfKind("ConfigMap").ToList();
        if (files.Length == 0)
        {
            Assert.Empty(configMaps); // nothing to ship yet: no empty ConfigMap for Grafana to choke on
            return;
        }

        var data = Assert.Single(configMaps).Json["data"]!.AsObject();
        foreach (var file in files)
        {
            Assert.Equal(File.ReadAllText(file).TrimEnd('\n'), (string?)data[Path.GetFileName(file)]);
        }
    }

    [Fact]
    public async Task DashboardsConfigMap_Should_BeAbsent_When_DashboardsDisabled()
    {
        using var chartCopy = ChartCopy.Create();
        File.WriteAllText(Path.Combine(chartCopy.Path, "dashboards", "jobs.json"), "{}");

        var chart = await Helm.TemplateAsync("dashboards: {enabled: false}", chartCopy.Path);

        Assert.Empty(chart.OfKind("ConfigMap"));
    }
}

/// <summary>A copy of the chart in the temp folder that a test may change; deleted on dispose.</summary>
public sealed class ChartCopy : IDisposable
{
    private ChartCopy(string path) => Path = path;

    public string Path { get; }

    public static ChartCopy Create()
    {
        var root = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"k8straining-chart-{Guid.NewGuid():N}");
        var target = System.IO.Path.Combine(root, "k8s-training");
        foreach (var file in Directory.GetFiles(RepositoryPaths.Chart, "*", SearchOption.AllDirectories))
        {
            var destination = System.IO.Path.Combine(target, System.IO.Path.GetRelativePath(RepositoryPaths.Chart, file));
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(destination)!);
            File.Copy(file, destination);
        }

        Directory.CreateDirectory(System.IO.Path.Combine(target, "dashboards"));
        foreach (var existing in Directory.GetFiles(System.IO.Path.Combine(target, "dashboards"), "*.json"))
        {
            File.Delete(existing);
        }

        return new ChartCopy(target);
    }

    public void Dispose() => Directory.Delete(System.IO.Path.GetDirectoryName(Path)!, recursive: true);
}
