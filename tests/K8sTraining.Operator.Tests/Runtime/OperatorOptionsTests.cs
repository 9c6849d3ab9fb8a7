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

    [Theory]
    [InlineData(new string[0], "ghcr.io/k8straining/checkpoint-sync:0.1.0")]
    [InlineData(new[] { "--checkpoint-sync-image", "registry.example.com/sync@sha256:abc" }, "registry.example.com/sync@sha256:abc")]
    [InlineData(new[] { "--checkpoint-sync-image=mirror.local:5000/checkpoint-sync:0.1.0" }, "mirror.local:5000/checkpoint-sync:0.1.0")]
    public void Parse_Should_ReadTheCheckpointSyncImage_When_GivenOrNot(string[] args, string image)
    {
        Assert.Equal(image, OperatorOptions.Parse(args).CheckpointSyncImage);
    }

    [Fact]
    public void Parse_Should_RefuseAnImageWithASpace_When_TheCheckpointSyncImageIsMistyped()
    {
        var e = Assert.Throws<ArgumentException>(() => OperatorOptions.Parse(["--checkpoint-sync-image", "ghcr.io/x/sync: 1"]));

        Assert.Equal("--checkpoint-sync-image takes an image reference (registry/name:tag), not 'ghcr.io/x/sync: 1'", e.Message);
    }

    [Theory]
    [InlineData(new[] { "--leader-elect" }, true)]
    [InlineData(new[] { "--leader-elect", "--identity", "a" }, true)]
    [InlineData(new[] { "--leader-elect", "false" }, false)]
    [InlineData(new[] { "--leader-elect=no" }, false)]
    public void Parse_Should_ReadLeaderElect_When_GivenAloneOrWithAValue(string[] args, bool expected)
    {
        Assert.Equal(expected, OperatorOptions.Parse(args).LeaderElect);
    }

    [Theory]
    [InlineData(new[] { "--kubeconfig" }, "--kubeconfig needs a value (PATH)")]
    [InlineData(new[] { "--http-port", "--identity", "a" }, "--http-port needs a value (N)")]
    [InlineData(new[] { "--http-prot", "80" }, "unknown flag --http-prot; run with --help for the flags")]
    [InlineData(new[] { "stray" }, "unexpected argument 'stray'; run with --help for the flags")]
    public void Parse_Should_NameTheFlagAndTheFix_When_AValueIsMissingOrAFlagUnknown(string[] args, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => OperatorOptions.Parse(args));

        Assert.Equal(expected, e.Message);
    }

    [Fact]
    public void Parse_Should_TakeTheLastValue_When_AFlagIsRepeated()
    {
        Assert.Equal(9090, OperatorOptions.Parse(["--http-port", "80", "--http-port=9090"]).HttpPort);
    }

    [Theory]
    [InlineData(new[] { "--help" }, true)]
    [InlineData(new[] { "--namespaces", "a", "-h" }, true)]
    [InlineData(new[] { "--namespaces", "a" }, false)]
    public void IsHelpRequest_Should_FindHelp_When_AskedAnywhere(string[] args, bool expected)
    {
        Assert.Equal(expected, OperatorOptions.IsHelpRequest(args));
    }

    [Fact]
    public void Usage_Should_ListEveryFlagTheParserAccepts_When_HelpIsAsked()
    {
        var flags = System.Text.RegularExpressions.Regex.Matches(OperatorOptions.Usage(), @"^  (--[a-z-]+)", System.Text.RegularExpressions.RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();

        Assert.Equal(15, flags.Count);
        Assert.All(flags, f => OperatorOptions.Parse(f == "--leader-elect" ? [f] : [f, f.EndsWith("-seconds", StringComparison.Ordinal) || f.EndsWith("-port", StringComparison.Ordinal) || f.EndsWith("-reconciles", StringComparison.Ordinal) ? "5" : "x"]));
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
