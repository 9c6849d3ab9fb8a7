using K8sTraining.Contract;
using Xunit.Abstractions;
using K8sTraining.Training.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace K8sTraining.Trainer.Tests.Distributed;

/// <summary>Real Gloo between ranks on loopback: the engine's results, bits and failure modes that data parallel relies on.</summary>
[Trait("Category", "Integration")]
public sealed class GlooCollectiveTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(2, 1)]
    [InlineData(2, 1000)]
    [InlineData(3, 4097)]
    [InlineData(2, 1 << 20)] // 4 MB of float32: several of Gloo's segments
    public void AllReduceSum_Should_GiveEveryRankTheExactSum_When_Float32(int worldSize, int count)
    {
        var results = LocalGroup.Run(worldSize, c =>
        {
            // Integers below 2^24 add exactly in float32, in any order: the expected sum is exact.
            using var t = arange(count, dtype: ScalarType.Float32).remainder(1000).add(c.Rank + 1);
            c.AllReduceSum(t);
            return t.data<float>().ToArray();
        });

        var expected = Enumerable.Range(0, count).Select(i => (float)(worldSize * (i % 1000) + worldSize * (worldSize + 1) / 2)).ToArray();
        for (var rank = 0; rank < worldSize; rank++)
        {
            Assert.True(expected.SequenceEqual(results[rank]), $"rank {rank}: the sum differs from the exact one");
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void AllReduceSum_Should_GiveEveryRankTheExactSum_When_Float64(int worldSize)
    {
        const int count = 70_000;
        var results = LocalGroup.Run(worldSize, c =>
        {
            using var t = arange(count, dtype: ScalarType.Float64).mul(1L << 30).add(c.Rank);
            c.AllReduceSum(t);
            return t.data<double>().ToArray();
        });

        // Beyond float32's 24 bits: only a float64 reduction keeps these exact.
        var expected = Enumerable.Range(0, count).Select(i => (double)worldSize * i * (1L << 30) + worldSize * (worldSize - 1) / 2).ToArray();
        Assert.All(results, r => Assert.True(expected.SequenceEqual(r), "the float64 sum differs from the exact one"));
    }

    [Fact]
    public void AllReduceSum_Should_GiveTheSameBitsOnEveryRankAndEveryRun_When_TheInputsRepeat()
    {
        const int count = 300_001;
        byte[][] Once() => LocalGroup.Run(3, c =>
        {
            // Values whose float sums depend on the order of addition: equal bits show the order is fixed.
            var generator = new Generator(seed: (ulong)(1000 + c.Rank));
            using var t = randn(count, dtype: ScalarType.Float32, generator: generator).mul(1e3);
            c.AllReduceSum(t);
            return t.bytes.ToArray();
        });

        var first = Once();
        var second = Once();

        Assert.True(first[0].SequenceEqual(first[1]) && first[0].SequenceEqual(first[2]), "ranks hold different bits after one all-reduce");
        Assert.True(first[0].SequenceEqual(second[0]), "the same inputs gave different bits in a second run");
    }

    [Theory]
    [InlineData(2, 0)]
    [InlineData(3, 1)]
    [InlineData(3, 2)]
    public void Broadcast_Should_CopyTheRootsBytesToEveryRank_When_AnyDtype(int worldSize, int root)
    {
        const int size = 3 << 20; // a few MB, as a checkpoint file is sent
        var results = LocalGroup.Run(worldSize, c =>
        {
            using var t = c.Rank == root ? arange(size, dtype: ScalarType.Int64).remainder(251).to(ScalarType.Byte) : zeros(size, dtype: ScalarType.Byte);
            c.Broadcast(t, root);
            return t.bytes.ToArray();
        });

        var expected = Enumerable.Range(0, size).Select(i => (byte)(i % 251)).ToArray();
        Assert.All(results, r => Assert.True(expected.SequenceEqual(r), "a rank's bytes differ from the root's"));
    }

    [Fact]
    public void Barrier_Should_ReturnOnlyOnceEveryRankHasCalledIt_When_OneRankIsLate()
    {
        var lateRankArrived = new ManualResetEventSlim();
        var results = LocalGroup.Run(3, c =>
        {
            if (c.Rank == 2)
            {
                // The late rank signals just before it calls the barrier; the others must not pass before that.
                Thread.Sleep(300);
                lateRankArrived.Set();
            }

            c.Barrier();
            return lateRankArrived.IsSet;
        });

        Assert.All(results, passedAfterTheLateRank => Assert.True(passedAfterTheLateRank, "a rank passed the barrier before the last one called it"));
    }

    [Fact]
    public void AllReduceSum_Should_RaiseACollectiveExceptionNamingTheRank_When_APeerDiesMidOperation()
    {
        var port = FreePort.Next();
        var timeout = TimeSpan.FromSeconds(15);
        var outcomes = LocalGroup.RunRanksCatching(3, rank =>
        {
            using var c = CollectiveFactory.Connect(LocalGroup.Options(rank, 3, port, timeout), CancellationToken.None);
            using var t = ones(1 << 16, dtype: ScalarType.Float32);
            c.AllReduceSum(t);
            if (rank == 2)
            {
                // Dying: its connections close, as the kernel closes a killed process's, while the others are mid-operation.
                return "died";
            }

            c.AllReduceSum(t);
            return "completed";
        });

        Assert.Equal("died", outcomes[2].Value);
        foreach (var rank in new[] { 0, 1 })
        {
            var error = Assert.IsType<CollectiveException>(outcomes[rank].Error);
            output.WriteLine($"rank {rank} after {outcomes[rank].Elapsed.TotalSeconds:0.00} s: {error.Message}");
            Assert.Contains($"rank {rank} of 3", error.Message, StringComparison.Ordinal);
            Assert.True(outcomes[rank].Elapsed < timeout, $"rank {rank} noticed the dead peer only after {outcomes[rank].Elapsed}: it should not wait for the timeout");
        }
    }

    [Fact]
    public void AllReduceSum_Should_RaiseACollectiveExceptionWithinTheTimeout_When_APeerStopsAnswering()
    {
        var port = FreePort.Next();
        var timeout = TimeSpan.FromSeconds(2);
        using var release = new ManualResetEventSlim();
        var outcomes = LocalGroup.RunRanksCatching(2, rank =>
        {
            using var c = CollectiveFactory.Connect(LocalGroup.Options(rank, 2, port, timeout), CancellationToken.None);
            if (rank == 1)
            {
                // Alive but silent (a frozen process, a partitioned node): its connections stay open.
                release.Wait(TimeSpan.FromSeconds(15));
                return "silent";
            }

            try
            {
                using var t = ones(16, dtype: ScalarType.Float32);
                c.AllReduceSum(t);
                return "completed";
            }
            finally
            {
                release.Set();
            }
        });

        var error = Assert.IsType<CollectiveException>(outcomes[0].Error);
        output.WriteLine($"after {outcomes[0].Elapsed.TotalSeconds:0.00} s: {error.Message}");
        Assert.Contains("rank 0 of 2", error.Message, StringComparison.Ordinal);
        Assert.InRange(outcomes[0].Elapsed, timeout, timeout + TimeSpan.FromSeconds(8));
    }

    [Fact]
    public void Connect_Should_FailNamingMasterAddrAndPort_When_RankZeroNeverComes()
    {
        var port = FreePort.Next();
        var options = LocalGroup.Options(1, 2, port, TimeSpan.FromSeconds(1));

        var error = Assert.Throws<CollectiveException>(() => CollectiveFactory.Connect(options, CancellationToken.None));
        output.WriteLine(error.Message);

        Assert.Contains($"{DistributedEnvironment.MasterAddress}=127.0.0.1 {DistributedEnvironment.MasterPort}={port}", error.Message, StringComparison.Ordinal);
        Assert.Contains("rank 1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Connect_Should_FailNamingTheMissingKey_When_APeerNeverJoins()
    {
        var port = FreePort.Next();
        var options = LocalGroup.Options(0, 2, port, TimeSpan.FromSeconds(1));

        var error = Assert.Throws<CollectiveException>(() => CollectiveFactory.Connect(options, CancellationToken.None));
        output.WriteLine(error.Message);

        Assert.Contains("rank 0 of 2", error.Message, StringComparison.Ordinal);
        Assert.Contains("not set within", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AllReduceSum_Should_RefuseWithAClearMessage_When_TheTensorIsNotContiguous()
    {
        var errors = LocalGroup.Run(1, c =>
        {
            using var t = ones(4, 4, dtype: ScalarType.Float32).t();
            return Assert.Throws<ArgumentException>(() => c.AllReduceSum(t)).Message;
        });

        Assert.Contains("contiguous", errors[0], StringComparison.Ordinal);
    }

    [Fact]
    public void AllReduceSum_Should_RefuseWithAClearMessage_When_TheDtypeIsNotFloat()
    {
        var errors = LocalGroup.Run(1, c =>
        {
            using var t = ones(4, dtype: ScalarType.Int32);
            return Assert.Throws<ArgumentException>(() => c.AllReduceSum(t)).Message;
        });

        Assert.Contains("float32 or float64", errors[0], StringComparison.Ordinal);
    }
}
