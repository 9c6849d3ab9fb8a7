using K8sTraining.NodeAgent.Containers;

namespace K8sTraining.LocalCluster.Tests.NodeAgent;

[Trait("Category", "Unit")]
public sealed class VariableExpansionTests
{
    private static readonly Dictionary<string, string> Variables = new()
    {
        ["NAME"] = "trainer",
        ["DIR"] = "/ckpt",
        ["EMPTY"] = string.Empty,
    };

    [Theory]
    [InlineData("defined variable", "$(NAME)", "trainer")]
    [InlineData("inside text", "run-$(NAME)-x", "run-trainer-x")]
    [InlineData("two variables", "$(DIR)/$(NAME)", "/ckpt/trainer")]
    [InlineData("undefined stays as written", "$(MISSING)", "$(MISSING)")]
    [InlineData("empty value", "a$(EMPTY)b", "ab")]
    [InlineData("escaped dollar", "$$(NAME)", "$(NAME)")]
    [InlineData("double dollar alone", "cost $$5", "cost $5")]
    [InlineData("lone dollar kept", "a $ b", "a $ b")]
    [InlineData("trailing dollar kept", "abc$", "abc$")]
    [InlineData("shell-style not expanded", "${NAME} $NAME", "${NAME} $NAME")]
    [InlineData("unclosed reference kept", "$(NAME", "$(NAME")]
    [InlineData("no dollar", "plain", "plain")]
    public void Expand_Should_FollowKubernetesRules_When_GivenCase(string name, string input, string expected)
    {
        var actual = VariableExpansion.Expand(input, Variables);

        Assert.True(expected == actual, $"{name}: expected '{expected}', got '{actual}'");
    }
}
