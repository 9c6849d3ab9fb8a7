using System.Text.Json.Nodes;
using K8sTraining.LocalCluster.Admission;

namespace K8sTraining.LocalCluster.Tests.Nodes;

[Trait("Category", "Unit")]
public sealed class DefaultTolerationSecondsTests
{
    private static JsonObject Pod(string tolerations) => new()
    {
        ["metadata"] = new JsonObject { ["name"] = "p" },
        ["spec"] = new JsonObject
        {
            ["containers"] = new JsonArray(new JsonObject { ["name"] = "c", ["image"] = "busybox" }),
            ["tolerations"] = JsonNode.Parse(tolerations),
        },
    };

    public static TheoryData<string, string, string[]> Cases => new()
    {
        { "none: both added", "[]", ["node.kubernetes.io/not-ready:300", "node.kubernetes.io/unreachable:300"] },
        { "its own not-ready: only unreachable added", """[{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":30}]""",
            ["node.kubernetes.io/not-ready:30", "node.kubernetes.io/unreachable:300"] },
        { "its own for both: nothing added", """[{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":30},{"key":"node.kubernetes.io/unreachable","operator":"Exists","tolerationSeconds":30}]""",
            ["node.kubernetes.io/not-ready:30", "node.kubernetes.io/unreachable:30"] },
        { "tolerates everything: nothing added", """[{"operator":"Exists"}]""", [":"] },
        { "a NoSchedule toleration does not count", """[{"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoSchedule"}]""",
            ["node.kubernetes.io/unreachable:", "node.kubernetes.io/not-ready:300", "node.kubernetes.io/unreachable:300"] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void OnCreate_Should_AddTheDefaultNoExecuteTolerations_When_ThePodHasNoneForThoseTaints(string name, string tolerations, string[] expected)
    {
        var pod = Pod(tolerations);

        new BuiltinAdmission("", TimeProvider.System).OnCreate("Pod", pod);

        var actual = (pod["spec"]!["tolerations"] as JsonArray ?? []).Select(t => $"{(string?)t!["key"]}:{(long?)t["tolerationSeconds"]}").ToArray();
        Assert.True(expected.SequenceEqual(actual), $"{name}: got {string.Join(", ", actual)}");
    }
}
