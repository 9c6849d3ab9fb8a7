using K8sTraining.LocalCluster.Controllers.Nodes;

namespace K8sTraining.LocalCluster.Tests.Nodes;

[Trait("Category", "Unit")]
public sealed class SchedulingDecisionTests
{
    private static readonly Dictionary<string, string> NoLabels = new(StringComparer.Ordinal);

    private static NodeCandidate Node(string name, int pods = 0, bool ready = true, Taint[]? taints = null, Dictionary<string, string>? labels = null, bool cordoned = false) =>
        new(name, ready, taints ?? [], labels ?? NoLabels, pods, cordoned);

    private static readonly Taint Unreachable = new(Taint.Unreachable, null, Taint.NoExecute);
    private static readonly Taint UnreachableNoSchedule = new(Taint.Unreachable, null, Taint.NoSchedule);
    private static readonly Taint Dedicated = new("dedicated", "gpu", Taint.NoSchedule);
    private static readonly Toleration TolerateUnreachable = new(Taint.Unreachable, "Exists", null, Taint.NoExecute, 30);
    private static readonly Toleration TolerateDedicated = new("dedicated", "Equal", "gpu", Taint.NoSchedule);

    public static TheoryData<string, Toleration[], Dictionary<string, string>?, NodeCandidate[], string?> Cases => new()
    {
        { "spreads to the node with fewest pods", [], null, [Node("local-node", pods: 2), Node("local-node-2", pods: 1)], "local-node-2" },
        { "breaks ties by name", [], null, [Node("local-node-2"), Node("local-node")], "local-node" },
        { "skips a node that is not Ready", [], null, [Node("local-node", ready: false), Node("local-node-2", pods: 5)], "local-node-2" },
        { "skips a cordoned node", [], null, [Node("local-node", cordoned: true), Node("local-node-2", pods: 5)], "local-node-2" },
        { "skips an untolerated NoSchedule taint", [], null, [Node("local-node", taints: [Dedicated]), Node("local-node-2", pods: 5)], "local-node-2" },
        { "uses a tolerated NoSchedule taint", [TolerateDedicated], null, [Node("local-node", taints: [Dedicated]), Node("local-node-2", pods: 5)], "local-node" },
        { "a NoExecute toleration does not tolerate the NoSchedule taint", [TolerateUnreachable], null, [Node("local-node", ready: false, taints: [UnreachableNoSchedule, Unreachable])], null },
        { "follows nodeSelector", [], new() { ["kubernetes.io/hostname"] = "local-node-2" },
            [Node("local-node", labels: new() { ["kubernetes.io/hostname"] = "local-node" }), Node("local-node-2", pods: 9, labels: new() { ["kubernetes.io/hostname"] = "local-node-2" })], "local-node-2" },
        { "nothing fits", [], null, [Node("local-node", taints: [Dedicated]), Node("local-node-2", ready: false)], null },
        { "no nodes at all", [], null, [], null },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Schedule_Should_PickTheFittingNodeWithFewestPods_When_GivenCase(string name, Toleration[] tolerations, Dictionary<string, string>? selector, NodeCandidate[] nodes, string? expected)
    {
        var result = SchedulingDecision.Schedule(tolerations, selector, nodes);

        Assert.True(expected == result.Node, $"{name}: expected {expected ?? "none"}, got {result.Node ?? "none"} ({result.Message})");
    }

    [Fact]
    public void Schedule_Should_SayWhyEachNodeWasRejected_When_NothingFits()
    {
        var result = SchedulingDecision.Schedule([], null, [Node("local-node", taints: [Dedicated]), Node("local-node-2", ready: false)]);

        Assert.Null(result.Node);
        Assert.Equal(
            "0/2 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) were not ready. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
            result.Message);
    }

    public static TheoryData<string, Toleration, Taint, bool> TolerationCases => new()
    {
        { "Exists with the key", new(Taint.Unreachable, "Exists", null, Taint.NoExecute), Unreachable, true },
        { "Exists with an empty key tolerates everything", new(null, "Exists", null, null), Dedicated, true },
        { "Equal needs the value", new("dedicated", "Equal", "cpu", null), Dedicated, false },
        { "Equal is the default operator", new("dedicated", null, "gpu", Taint.NoSchedule), Dedicated, true },
        { "another effect", new("dedicated", "Equal", "gpu", Taint.NoExecute), Dedicated, false },
        { "another key", new(Taint.NotReady, "Exists", null, Taint.NoExecute), Unreachable, false },
    };

    [Theory]
    [MemberData(nameof(TolerationCases))]
    public void Tolerates_Should_MatchKeyOperatorValueAndEffect_When_GivenCase(string name, Toleration toleration, Taint taint, bool expected)
    {
        Assert.True(expected == toleration.Tolerates(taint), name);
    }
}
