using K8sTraining.Deploy.Tests.Support;

namespace K8sTraining.Deploy.Tests.Chart;

[Trait("Category", "Integration")]
public sealed class ChartLintTests
{
    [Theory]
    [MemberData(nameof(ValueSets.Names), MemberType = typeof(ValueSets))]
    public async Task Lint_Should_Pass_When_ValuesAre(string valueSet)
    {
        var result = await Helm.LintAsync(ValueSets.All[valueSet]);

        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.Contains("1 chart(s) linted, 0 chart(s) failed", result.StandardOutput);
    }

    [Fact]
    public async Task Install_Should_PrintNextSteps_When_DryRunWithWatchedNamespaces()
    {
        using var values = new TemporaryFile(".yaml", ValueSets.All[ValueSets.Namespaced]);

        var result = await Helm.RunAsync(
            "install", Helm.ReleaseName, RepositoryPaths.Chart, "--dry-run=client",
            "--namespace", Helm.ReleaseNamespace, "--values", values.Path);

        Assert.True(result.ExitCode == 0, result.Describe());
        var notes = result.StandardOutput[result.StandardOutput.IndexOf("NOTES:", StringComparison.Ordinal)..];
        Assert.Contains("these namespaces only: team-a, team-b", notes);
        Assert.Contains($"kubectl -n {Helm.ReleaseNamespace} rollout status deployment/kt-k8s-training", notes);
        Assert.Contains("kubectl -n team-a create secret generic s3-credentials", notes);
        Assert.Contains("kubectl -n team-a get tj -w", notes);
        Assert.Contains("AWS_ACCESS_KEY_ID", notes);
    }
}
