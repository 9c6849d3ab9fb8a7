using System.Runtime.InteropServices;
using K8sTraining.Contract;
using K8sTraining.Training.Distributed;

namespace K8sTraining.Trainer.Tests.Distributed;

/// <summary>The NCCL backend where NCCL is absent (every CPU machine): a clear error, before any rendezvous.</summary>
[Trait("Category", "Unit")]
public sealed class NcclCollectiveTests
{
    [Fact]
    public void Connect_Should_SayLibncclIsNotPresent_When_TheMachineHasNoNccl()
    {
        // The test is about machines without NCCL: it proves nothing (and must not pass silently) on one that has it.
        Assert.False(NativeLibrary.TryLoad("libnccl.so.2", out _), "this machine has libnccl.so.2: run this test where NCCL is absent");
        var options = new CollectiveOptions(CollectiveBackends.Nccl, 1, 2, "127.0.0.1", FreePort.Next(), "127.0.0.1", TimeSpan.FromSeconds(30));
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var error = Assert.Throws<CollectiveException>(() => CollectiveFactory.Connect(options, CancellationToken.None));

        Assert.Contains("libnccl.so.2 is not present", error.Message, StringComparison.Ordinal);
        Assert.Contains(CollectiveBackends.Gloo, error.Message, StringComparison.Ordinal);
        // It fails on loading, not after waiting 30 s for a rank 0 that does not exist.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
    }

    [Fact]
    public void Load_Should_ListEveryNameItTried_When_NoneLoads()
    {
        var error = Assert.Throws<CollectiveException>(() => NcclLibrary.Load(["libk8straining-no-such-nccl.so.2"]));

        Assert.Contains("libk8straining-no-such-nccl.so.2", error.Message, StringComparison.Ordinal);
    }
}
