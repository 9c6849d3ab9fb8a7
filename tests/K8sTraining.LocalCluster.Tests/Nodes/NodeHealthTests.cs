using K8sTraining.LocalCluster.Controllers.Nodes;

namespace K8sTraining.LocalCluster.Tests.Nodes;

[Trait("Category", "Unit")]
public sealed class NodeHealthTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(50);
    private static readonly TimeSpan StartupGrace = TimeSpan.FromSeconds(60);

    private static NodeObservation Seen(double createdSecondsAgo, double? heartbeatSecondsAgo, string? ready) =>
        new(Now.AddSeconds(-createdSecondsAgo), heartbeatSecondsAgo is { } h ? Now.AddSeconds(-h) : null, ready);

    public static TheoryData<string, NodeObservation, string, string?, string?> Cases => new()
    {
        { "fresh heartbeat, Ready", Seen(600, 5, "True"), "True", null, null },
        { "heartbeat exactly at the grace period", Seen(600, 50, "True"), "True", null, null },
        { "stale heartbeat", Seen(600, 51, "True"), "Unknown", NodeHealth.NodeStatusUnknown, Taint.Unreachable },
        { "stale and already Unknown", Seen(600, 120, "Unknown"), "Unknown", NodeHealth.NodeStatusUnknown, Taint.Unreachable },
        { "the kubelet posts Ready=False", Seen(600, 5, "False"), "False", null, Taint.NotReady },
        { "Unknown, then the lease is renewed before the kubelet posts status", Seen(600, 1, "Unknown"), "Unknown", null, Taint.Unreachable },
        { "new node, within the startup grace period", Seen(30, null, null), "Unknown", null, null },
        { "never posted, past the startup grace period", Seen(61, null, null), "Unknown", NodeHealth.NodeStatusNeverUpdated, Taint.Unreachable },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Evaluate_Should_MarkUnknownAndTaint_When_TheNodeIsUnheardForTheGracePeriod(string name, NodeObservation node, string ready, string? reason, string? taint)
    {
        var verdict = NodeHealth.Evaluate(node, Now, Grace, StartupGrace);

        Assert.True(ready == verdict.ReadyStatus, $"{name}: Ready {verdict.ReadyStatus}");
        Assert.True(reason == verdict.Reason, $"{name}: reason {verdict.Reason}");
        Assert.True(taint == verdict.NoExecuteTaint, $"{name}: taint {verdict.NoExecuteTaint}");
    }
}
