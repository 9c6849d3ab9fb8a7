namespace K8sTraining.Operator.Tests.Integration;

/// <summary>The published operator's command line as a user meets it: help is not an error, a bad flag is named (exit 2).</summary>
[Trait("Category", "Integration")]
public sealed class OperatorCommandLineTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private static string Dll => RepositoryPaths.Published("operator", "K8sTraining.Operator.dll");

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public async Task Operator_Should_PrintEveryFlagAndExitZero_When_HelpIsAsked(string flag)
    {
        var result = await ChildProcess.RunAsync("dotnet", [Dll, flag], timeout: Deadline);

        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.Contains("usage: K8sTraining.Operator [flags]", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("--leader-elect", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("--progress-interval-seconds", result.StandardOutput, StringComparison.Ordinal);
        Assert.Empty(result.StandardError);
    }

    [Theory]
    [InlineData(new[] { "--http-prot", "80" }, "unknown flag --http-prot; run with --help for the flags")]
    [InlineData(new[] { "--kubeconfig" }, "--kubeconfig needs a value (PATH)")]
    public async Task Operator_Should_ExitTwoNamingTheFlag_When_TheCommandLineIsWrong(string[] args, string expected)
    {
        var result = await ChildProcess.RunAsync("dotnet", [Dll, .. args], timeout: Deadline);

        Assert.True(result.ExitCode == 2, result.Describe());
        Assert.Contains(expected, result.StandardError, StringComparison.Ordinal);
    }
}
