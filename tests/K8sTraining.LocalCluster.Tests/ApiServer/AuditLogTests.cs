using K8sTraining.LocalCluster.Audit;

namespace K8sTraining.LocalCluster.Tests.ApiServer;

/// <summary>The audit log's observer: told of each request right after it is recorded, in order, and never able to fail one.</summary>
[Trait("Category", "Unit")]
public sealed class AuditLogTests
{
    private static AuditEntry Entry(string verb, string name) =>
        new(DateTimeOffset.UnixEpoch, verb, "", "v1", "pods", "", "ns", name, 201, "k8s-training-operator/op", $"/api/v1/namespaces/ns/pods/{name}");

    [Fact]
    public void Append_Should_TellTheObserverEachEntryInOrderAfterRecordingIt_When_EntriesAreAppended()
    {
        using var log = new AuditLog(null);
        var seen = new List<(string Name, int Recorded)>();
        log.Appended += e => seen.Add((e.Name, log.Entries.Count));

        log.Append(Entry("create", "a"));
        log.Append(Entry("delete", "b"));

        Assert.Equal([("a", 1), ("b", 2)], seen);
    }

    [Fact]
    public void Append_Should_RecordAndTellTheOtherObservers_When_AnObserverThrows()
    {
        using var log = new AuditLog(null);
        var seen = new List<string>();
        log.Appended += _ => throw new InvalidOperationException("observer bug");
        log.Appended += e => seen.Add(e.Name);

        log.Append(Entry("create", "a"));

        Assert.Equal(["a"], seen);
        Assert.Single(log.Entries);
        Assert.Equal("observer bug", Assert.Single(log.ObserverFailures).Message);
    }

    [Fact]
    public void Append_Should_NotTellAnObserver_When_ItWasRemoved()
    {
        using var log = new AuditLog(null);
        var count = 0;
        void Count(AuditEntry _) => count++;
        log.Appended += Count;
        log.Append(Entry("create", "a"));
        log.Appended -= Count;

        log.Append(Entry("create", "b"));

        Assert.Equal(1, count);
    }
}
