using K8sTraining.Chaos.Cluster;

namespace K8sTraining.Chaos.Tests;

[Trait("Category", "Unit")]
public sealed class LeaderHistoryTests
{
    private const string Lease = "k8s-training-operator";
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 6, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(4);
    private static readonly TimeSpan Tolerance = TimeSpan.FromMilliseconds(300);

    // Each write: "seconds identity verb resource [code]"; resource "lease" is the election Lease, "lease+" its create.
    public static TheoryData<string, string[], int> Cases => new()
    {
        { "a leader renews and writes; after its death the next one waits a lease duration", ["0 a create lease+", "0.5 a create pods", "1 a update lease", "1.2 a update trainingjobs", "5.1 b update lease", "5.5 b delete pods"], 0 },
        { "a follower's failed lease updates change nothing", ["0 a create lease+", "1 b update lease 409", "1.5 a update lease", "2 a patch trainingjobs"], 0 },
        { "a take-over before the lease expired makes two leaders", ["0 a create lease+", "1 a update lease", "2 b update lease"], 1 },
        { "a follower writes while another holds the lease", ["0 a create lease+", "0.5 b create events"], 1 },
        { "a write before anyone held the lease", ["0 a create pods", "0.5 a create lease+"], 1 },
        { "the dead leader writes after the take-over", ["0 a create lease+", "4.5 b update lease", "4.6 a update trainingjobs"], 1 },
        { "a leader writes long after its last renewal", ["0 a create lease+", "6 a create pods"], 1 },
        { "a failed write by a follower is still a write", ["0 a create lease+", "0.5 b update trainingjobs 409"], 1 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Check_Should_FindEachBreachOfOneLeaderAtATime_When_GivenTheWrites(string because, string[] writes, int expected)
    {
        var problems = LeaderHistory.Check(writes.Select(Parse).ToList(), Lease, Duration, Tolerance);

        Assert.True(expected == problems.Count, $"{because}: {string.Join(" | ", problems)}");
    }

    [Fact]
    public void Terms_Should_MergeRenewalsOfOneHolder_When_TheLeaseChangesHands()
    {
        var terms = LeaderHistory.Terms(new[] { "0 a create lease+", "1 a update lease", "5.5 b update lease", "6 b update lease", "7 c update lease 409" }.Select(Parse), Lease);

        Assert.Equal([("a", 0.0, 1.0), ("b", 5.5, 6.0)], terms.Select(t => (t.Identity, (t.From - T0).TotalSeconds, (t.LastRenewal - T0).TotalSeconds)));
    }

    private static OperatorWrite Parse(string text)
    {
        var p = text.Split(' ');
        var (resource, name) = p[3] switch
        {
            "lease" => (LeaderHistory.LeaseResource, Lease),
            "lease+" => (LeaderHistory.LeaseResource, ""),
            var r => (r, "x"),
        };
        return new OperatorWrite(T0.AddSeconds(double.Parse(p[0], System.Globalization.CultureInfo.InvariantCulture)), p[1], p[2], resource, name, p.Length > 4 ? int.Parse(p[4], System.Globalization.CultureInfo.InvariantCulture) : 200);
    }
}

[Trait("Category", "Unit")]
public sealed class OperatorUserAgentTests
{
    [Theory]
    [InlineData("k8s-training-operator/replica-1", "replica-1")]
    [InlineData("k8s-training-operator/replica-2 KubernetesClient/18.0", "replica-2")]
    [InlineData("kubectl/v1.32.0 (linux/amd64)", null)]
    [InlineData("k8s-training-operator/", null)]
    [InlineData("", null)]
    public void IdentityOf_Should_NameTheReplica_When_TheUserAgentIsTheOperators(string userAgent, string? expected)
    {
        Assert.Equal(expected, OperatorUserAgent.IdentityOf(userAgent));
    }
}
