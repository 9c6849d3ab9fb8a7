using K8sTraining.Contract;
using K8sTraining.Training.Distributed;

namespace K8sTraining.Trainer.Tests.Distributed;

[Trait("Category", "Unit")]
public sealed class CollectiveFactoryTests
{
    public static TheoryData<string, CollectiveOptions, string> BadOptions => new()
    {
        { "unknown backend", Options() with { Backend = "mpi" }, "unknown collective backend 'mpi'" },
        { "world of zero", Options() with { WorldSize = 0 }, DistributedEnvironment.WorldSize },
        { "rank beyond the world", Options() with { Rank = 2 }, DistributedEnvironment.Rank },
        { "negative rank", Options() with { Rank = -1 }, DistributedEnvironment.Rank },
        { "no master address", Options() with { MasterAddress = " " }, DistributedEnvironment.MasterAddress },
        { "port out of range", Options() with { MasterPort = 70000 }, DistributedEnvironment.MasterPort },
        { "zero timeout", Options() with { Timeout = TimeSpan.Zero }, "timeout" },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void Connect_Should_SayWhatIsWrong_When_TheOptionsCannotWork(string because, CollectiveOptions options, string expected)
    {
        var error = Assert.Throws<ArgumentException>(() => CollectiveFactory.Connect(options, CancellationToken.None));

        Assert.True(error.Message.Contains(expected, StringComparison.Ordinal), $"{because}: {error.Message}");
    }

    private static CollectiveOptions Options() =>
        new(CollectiveBackends.Gloo, 0, 2, "127.0.0.1", DistributedEnvironment.DefaultMasterPort, null, TimeSpan.FromSeconds(1));
}
