using K8sTraining.Operator.Runtime;

namespace K8sTraining.Operator.Tests.Runtime;

[Trait("Category", "Unit")]
public sealed class OperatorOptionsTests
{
    [Fact]
    public void Parse_Should_ReadTheChartsFlags_When_GivenInBothForms()
    {
        var options = OperatorOptions.Parse(["--kubeconfig", "/k", "--namespaces=a,b", "--leader-elect=true", "--leader-election-namespace", "ops", "--identity", "pod-1", "--http-port", "8080"]);

        Assert.Equal("/k", options.Kubeconfig);
        Assert.Equal(["a", "b"], options.Namespaces);
        Assert.True(options.LeaderElect);
        Assert.Equal("ops", options.LeaderElectionNamespace);
        Assert.Equal("pod-1", options.Identity);
        Assert.Equal(8080, options.HttpPort);
    }

    [Fact]
    public void Parse_Should_WatchAllNamespacesWithoutElection_When_NoFlagsAreGiven()
    {
        var options = OperatorOptions.Parse([]);

        Assert.Empty(options.Namespaces);
        Assert.False(options.LeaderElect);
        Assert.Null(options.Kubeconfig);
    }

    [Theory]
    [InlineData("--unknown", "x")]
    [InlineData("--http-port", "70000")]
    [InlineData("--leader-elect", "maybe")]
    public void Parse_Should_Refuse_When_AFlagIsWrong(string flag, string value)
    {
        Assert.Throws<ArgumentException>(() => OperatorOptions.Parse([flag, value]));
    }

    [Theory]
    [InlineData(new string[0], 30)]
    [InlineData(new[] { "--progress-interval-seconds", "5" }, 5)]
    [InlineData(new[] { "--progress-interval-seconds=0" }, 0)]
    public void Parse_Should_ReadTheProgressInterval_When_GivenOrNot(string[] args, int seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), OperatorOptions.Parse(args).ProgressInterval);
    }

    [Fact]
    public void ApiOperations_Should_ListEveryVerbOnce_When_TheChartDerivesRbac()
    {
        Assert.Equal(ApiOperations.All.Count, ApiOperations.All.Distinct().Count());
        Assert.Contains(ApiOperations.All, o => o is { Verb: "update", Resource: "trainingjobs", Subresource: "status" });
        Assert.Contains(ApiOperations.All, o => o is { Verb: "create", Group: "", Resource: "events" });
        Assert.All(ApiOperations.LeaderElection, o => Assert.Equal("coordination.k8s.io", o.Group));
    }
}
