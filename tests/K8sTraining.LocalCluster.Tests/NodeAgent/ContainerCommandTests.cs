using K8sTraining.NodeAgent.Containers;
using K8sTraining.NodeAgent.Images;
using k8s.Models;

namespace K8sTraining.LocalCluster.Tests.NodeAgent;

[Trait("Category", "Unit")]
public sealed class ContainerCommandTests
{
    private static readonly ImageDefinition Image = new("x", ["entry", "--e"], ["cmd", "--c"], new Dictionary<string, string>());

    private static readonly Dictionary<string, string> Env = new() { ["EPOCHS"] = "3", ["CKPT"] = "/local/ckpt" };

    private static readonly PathMapper Paths = new([("/ckpt", "/local/ckpt")]);

    public static TheoryData<string, string[]?, string[]?, string[]> Cases => new()
    {
        { "neither: entrypoint and cmd", null, null, ["entry", "--e", "cmd", "--c"] },
        { "args only: replace cmd", null, ["train", "--epochs", "$(EPOCHS)"], ["entry", "--e", "train", "--epochs", "3"] },
        { "command only: image ignored", ["/bin/sh", "-c", "exit 0"], null, ["/bin/sh", "-c", "exit 0"] },
        { "command and args", ["run"], ["$(CKPT)/x", "$$(EPOCHS)"], ["run", "/local/ckpt/x", "$(EPOCHS)"] },
        { "paths in args mapped", null, ["--checkpoint-dir=/ckpt/a", "/ckpt"], ["entry", "--e", "--checkpoint-dir=/local/ckpt/a", "/local/ckpt"] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Build_Should_FollowKubernetesEntrypointRules_When_GivenCase(string name, string[]? command, string[]? args, string[] expected)
    {
        var container = new V1Container { Name = "c", Image = "x", Command = command, Args = args };

        var argv = ContainerCommand.Build(container, Image, Env, Paths);

        Assert.True(expected.SequenceEqual(argv), $"{name}: got [{string.Join(", ", argv)}]");
    }
}
