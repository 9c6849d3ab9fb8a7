using K8sTraining.Metrics.Tests.Support;

namespace K8sTraining.Metrics.Tests.Dashboard;

/// <summary>The chart's Grafana dashboard, checked without a cluster: PromQL syntax (promtool), variables, documentation.</summary>
public sealed class DashboardTests
{
    private readonly Support.Dashboard _dashboard = Support.Dashboard.Load();

    [Trait("Category", "Integration")]
    [Fact]
    public async Task Queries_Should_PassPromtool_When_VariablesAreRendered()
    {
        var expressions = _dashboard.Queries.Select(q => Support.Dashboard.Render(q.Expression, "team-a", "resnet", "1m", "6h")).ToList();

        var (exitCode, output) = await Promtool.CheckExpressionsAsync(expressions);

        Assert.True(exitCode == 0, $"promtool rejected a dashboard query:\n{output}");
        Assert.Contains($"SUCCESS: {expressions.Count} rules found", output, StringComparison.Ordinal);
    }

    [Trait("Category", "Integration")]
    [Fact]
    public async Task Promtool_Should_RejectAQuery_When_ItIsNotPromQL()
    {
        // The check above must be able to fail.
        var (exitCode, output) = await Promtool.CheckExpressionsAsync(["sum by (phase) (k8straining_operator_jobs{job_namespace=~\"a\"}"]);

        Assert.NotEqual(0, exitCode);
        Assert.Contains("parse error", output, StringComparison.OrdinalIgnoreCase);
    }

    [Trait("Category", "Unit")]
    [Fact]
    public void Panels_Should_UseTheDatasourceVariable_When_ProvisionedBySidecar()
    {
        var datasource = Assert.Single(_dashboard.Variables, v => (string?)v["name"] == "datasource");
        Assert.Equal("datasource", (string?)datasource["type"]);
        Assert.Equal("prometheus", (string?)datasource["query"]);
        Assert.All(_dashboard.Panels, p =>
        {
            Assert.Equal("${datasource}", (string?)p["datasource"]?["uid"]);
            Assert.All(p["targets"]!.AsArray(), t => Assert.Equal("${datasource}", (string?)t!["datasource"]?["uid"]));
        });
    }

    [Trait("Category", "Unit")]
    [Theory]
    [InlineData("namespace", "job_namespace")]
    [InlineData("job", "job_name")]
    public void Variable_Should_ListLabelValues_When_DashboardLoads(string name, string label)
    {
        var variable = Assert.Single(_dashboard.Variables, v => (string?)v["name"] == name);

        Assert.Equal("query", (string?)variable["type"]);
        Assert.Contains($", {label})", (string?)variable["definition"], StringComparison.Ordinal);
        Assert.True((bool?)variable["includeAll"]);
        Assert.True((bool?)variable["multi"]);
    }

    [Trait("Category", "Unit")]
    [Fact]
    public void JobPanels_Should_FilterByNamespaceAndJob_When_TheyReadJobMetrics()
    {
        foreach (var query in _dashboard.Queries.Where(q => q.Expression.Contains("k8straining_trainer_", StringComparison.Ordinal)))
        {
            Assert.Contains("job_namespace=~\"$namespace\"", query.Expression, StringComparison.Ordinal);
            Assert.Contains("job_name=~\"$job\"", query.Expression, StringComparison.Ordinal);
        }
    }

    [Trait("Category", "Unit")]
    [Fact]
    public void Queries_Should_ReadOnlyDocumentedMetrics_When_Rendered()
    {
        var documented = MetricsDoc.Metrics().Select(m => m.Name).ToHashSet(StringComparer.Ordinal);

        var read = _dashboard.Queries.SelectMany(q => Support.Dashboard.MetricsIn(q.Expression)).Distinct().ToList();

        Assert.NotEmpty(read);
        Assert.All(read, m => Assert.Contains(m, documented));
    }

    [Trait("Category", "Unit")]
    [Fact]
    public void Docs_Should_DescribeEveryPanel_When_TheReaderHasNoScreenshot()
    {
        var titles = _dashboard.Panels.Select(p => (string)p["title"]!).ToList();

        Assert.Equal(titles, MetricsDoc.PanelTitles());
    }

    [Trait("Category", "Unit")]
    [Theory]
    [InlineData("Jobs by phase", "k8straining_operator_jobs")]
    [InlineData("Preemptions by reason", "k8straining_operator_preemptions_total")]
    [InlineData("Recovery time (disruption to replacement running)", "k8straining_operator_recovery_seconds_bucket")]
    [InlineData("Loss", "k8straining_trainer_loss")]
    [InlineData("Validation accuracy", "k8straining_trainer_validation_accuracy")]
    [InlineData("Throughput", "k8straining_trainer_samples_per_second")]
    [InlineData("Learning rate", "k8straining_trainer_learning_rate")]
    [InlineData("Best validation accuracy", "k8straining_trainer_best_validation_accuracy")]
    [InlineData("Checkpoint save time", "k8straining_trainer_checkpoint_save_seconds_bucket")]
    [InlineData("Checkpoint upload time", "k8straining_trainer_checkpoint_upload_seconds_bucket")]
    [InlineData("Checkpoint size", "k8straining_trainer_checkpoint_size_bytes")]
    [InlineData("Upload backlog", "k8straining_trainer_upload_backlog")]
    [InlineData("Leader", "k8straining_operator_leader")]
    [InlineData("Work-queue depth", "k8straining_operator_work_queue_depth")]
    [InlineData("Watch restarts", "k8straining_operator_watch_restarts_total")]
    [InlineData("Reconcile duration", "k8straining_operator_reconcile_duration_seconds_bucket")]
    public void Panel_Should_ShowWhatTheIssueAsks_When_Opened(string title, string metric)
    {
        var queries = _dashboard.Queries.Where(q => q.Panel == title).ToList();

        Assert.NotEmpty(queries);
        Assert.Contains(queries, q => q.Expression.Contains(metric, StringComparison.Ordinal));
    }

    [Trait("Category", "Unit")]
    [Fact]
    public void PercentilePanels_Should_ShowP50AndP99_When_TheyReadHistograms()
    {
        foreach (var panel in _dashboard.Queries.Where(q => q.Expression.Contains("histogram_quantile", StringComparison.Ordinal)).GroupBy(q => q.Panel))
        {
            Assert.Contains(panel, q => q.Expression.StartsWith("histogram_quantile(0.5,", StringComparison.Ordinal));
            Assert.Contains(panel, q => q.Expression.StartsWith("histogram_quantile(0.99,", StringComparison.Ordinal));
        }
    }
}
