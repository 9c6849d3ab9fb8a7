using K8sTraining.LocalCluster.Controllers.Nodes;

namespace K8sTraining.LocalCluster.Tests.Nodes;

[Trait("Category", "Unit")]
public sealed class TaintEvictionTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Added = Now.AddSeconds(-10);
    private static readonly Taint Unreachable = new(Taint.Unreachable, null, Taint.NoExecute, Added);
    private static readonly Taint UnreachableNoSchedule = new(Taint.Unreachable, null, Taint.NoSchedule);

    private static Toleration Tolerate(string key, long? seconds) => new(key, "Exists", null, Taint.NoExecute, seconds);

    public static TheoryData<string, Taint[], Toleration[], DateTimeOffset?> Cases => new()
    {
        { "no taints", [], [], null },
        { "a NoSchedule taint never evicts", [UnreachableNoSchedule], [], null },
        { "not tolerated: at once", [Unreachable], [], Now },
        { "tolerated for 30 s from when the taint was added", [Unreachable], [Tolerate(Taint.Unreachable, 30)], Added.AddSeconds(30) },
        { "tolerated for 300 s (the DefaultTolerationSeconds)", [Unreachable, UnreachableNoSchedule], [Tolerate(Taint.NotReady, 300), Tolerate(Taint.Unreachable, 300)], Added.AddSeconds(300) },
        { "tolerated forever", [Unreachable], [Tolerate(Taint.Unreachable, null)], null },
        { "the smallest matching tolerationSeconds wins", [Unreachable], [Tolerate(Taint.Unreachable, 60), new(null, "Exists", null, null, 5)], Added.AddSeconds(5) },
        { "a toleration of another taint does not count", [Unreachable], [Tolerate(Taint.Unreachable, 60), Tolerate(Taint.NotReady, 1)], Added.AddSeconds(60) },
        { "negative tolerationSeconds: at once", [Unreachable], [Tolerate(Taint.Unreachable, -5)], Added },
        { "a taint without timeAdded counts from now", [Unreachable with { TimeAdded = null }], [Tolerate(Taint.Unreachable, 30)], Now.AddSeconds(30) },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void EvictAt_Should_HonourTolerationSeconds_When_TheNodeHasNoExecuteTaints(string name, Taint[] taints, Toleration[] tolerations, DateTimeOffset? expected)
    {
        var at = TaintEviction.EvictAt(taints, tolerations, Now);

        Assert.True(expected == at, $"{name}: expected {expected?.ToString("O") ?? "never"}, got {at?.ToString("O") ?? "never"}");
    }
}
