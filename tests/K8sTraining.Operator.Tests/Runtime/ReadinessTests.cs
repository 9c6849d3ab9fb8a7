using K8sTraining.Operator.Runtime;

namespace K8sTraining.Operator.Tests.Runtime;

[Trait("Category", "Unit")]
public sealed class ReadinessTests
{
    private const string CannotList = "trainingjobs in team-a: cannot list since 2026-11-30T10:00:00Z: Connection refused";

    public static TheoryData<string, bool, bool, string[], bool, string> Cases => new()
    {
        { "a follower", false, false, [CannotList], true, "ok" },
        { "a leader whose caches are synced", true, true, [], true, "ok" },
        { "a leader before its caches sync", true, false, [], false, "not ready: caches not synced" },
        { "a leader whose informer cannot list", true, true, [CannotList], false, "not ready: " + CannotList },
        { "a leader that never listed", true, false, [CannotList], false, "not ready: caches not synced; " + CannotList },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Evaluate_Should_ReportEveryInformerThatCannotList_When_Leading(string because, bool isLeader, bool synced, string[] problems, bool ready, string body)
    {
        var result = Readiness.Evaluate(isLeader, synced, problems);

        Assert.True((ready, body) == result, $"{because}: got {result}");
    }
}
