using K8sTraining.Metrics.Tests.Support;

namespace K8sTraining.Metrics.Tests.Dashboard;

/// <summary>The metric table in README.md (the README's) is well formed; the live checks are in the scrape tests.</summary>
[Trait("Category", "Unit")]
public sealed class MetricsDocTests
{
    [Fact]
    public void Table_Should_NameEveryMetricWithTypeAndMeaning_When_Parsed()
    {
        var metrics = MetricsDoc.Metrics();

        Assert.True(metrics.Count >= 20, $"only {metrics.Count} metrics parsed from README.md");
        Assert.Equal(metrics.Count, metrics.Select(m => m.Name).Distinct().Count());
        Assert.All(metrics, m =>
        {
            Assert.Contains(m.Type, new[] { "gauge", "counter", "histogram" });
            Assert.Equal(m.Type == "counter", m.Name.EndsWith("_total", StringComparison.Ordinal));
            Assert.False(string.IsNullOrWhiteSpace(m.Meaning));
            Assert.DoesNotContain("pod", m.Labels);
            Assert.DoesNotContain("step", m.Labels);
            Assert.DoesNotContain("job", m.Labels);
            Assert.DoesNotContain("namespace", m.Labels);
        });
    }

    [Theory]
    [InlineData("ExitCode75", "exit-75")]
    [InlineData("PodDeleted", "deleted")]
    [InlineData("PreemptionByScheduler", "PreemptionByScheduler")]
    [InlineData("EvictionByEvictionAPI", "EvictionByEvictionAPI")]
    [InlineData(null, "DisruptionTarget")]
    public void PreemptionReason_Should_BeTheDocumentedLabel_When_AnAttemptIsPreempted(string? terminationReason, string label)
    {
        Assert.Equal(label, K8sTraining.Operator.Metrics.OperatorMetrics.PreemptionReason(terminationReason));
        Assert.Contains(label, K8sTraining.Operator.Metrics.OperatorMetrics.PreemptionReasonLabels);
    }
}
