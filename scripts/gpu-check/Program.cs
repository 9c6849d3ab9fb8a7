using System.Globalization;
using K8sTraining.Contract;
using K8sTraining.Training.Distributed;
using TorchSharp;
using static TorchSharp.torch;

// Usage: GpuCheck RANK WORLD_SIZE MASTER_PORT CUDA_DEVICE. Prints "rank R: PASS" or "rank R: FAIL: why"; exit 0 or 1.
var c = CultureInfo.InvariantCulture;
var rank = int.Parse(args[0], c);
var world = int.Parse(args[1], c);
var port = int.Parse(args[2], c);
var device = int.Parse(args[3], c);
try
{
    if (!cuda.is_available())
    {
        throw new InvalidOperationException("TorchSharp sees no CUDA device: is this the CUDA build (-p:TorchBackend=cuda) on a GPU machine?");
    }

    var options = new CollectiveOptions(CollectiveBackends.Nccl, rank, world, "127.0.0.1", port, "127.0.0.1", TimeSpan.FromSeconds(60));
    using var collective = CollectiveFactory.Connect(options, CancellationToken.None);
    var gpu = new Device(DeviceType.CUDA, device);
    var expectedRankSum = world * (world + 1) / 2;

    // float32, 4 MB: every element i of rank r is (i % 1000) + r + 1, so the sum is exact in float32.
    const int count = 1 << 20;
    using (var t = arange(count, dtype: ScalarType.Float32, device: gpu).remainder(1000).add(rank + 1))
    {
        collective.AllReduceSum(t);
        using var expected = arange(count, dtype: ScalarType.Float32).remainder(1000).mul(world).add(expectedRankSum);
        Check(SameBytes(t, expected), "float32 all-reduce: the sum is not exact");
    }

    // float64 beyond float32's precision.
    using (var t = arange(4096, dtype: ScalarType.Float64, device: gpu).mul(1L << 30).add(rank))
    {
        collective.AllReduceSum(t);
        using var expected = arange(4096, dtype: ScalarType.Float64).mul((1L << 30) * world).add(world * (world - 1) / 2);
        Check(SameBytes(t, expected), "float64 all-reduce: the sum is not exact");
    }

    // 3 MB of bytes from the last rank.
    var root = world - 1;
    using (var t = rank == root
        ? arange(3 << 20, dtype: ScalarType.Int64, device: gpu).remainder(251).to(ScalarType.Byte)
        : zeros(3 << 20, dtype: ScalarType.Byte, device: gpu))
    {
        collective.Broadcast(t, root);
        using var expected = arange(3 << 20, dtype: ScalarType.Int64).remainder(251).to(ScalarType.Byte);
        Check(SameBytes(t, expected), $"broadcast from rank {root}: the bytes differ from the root's");
    }

    // Same inputs, same bits: a second all-reduce of random data equals the first, and every rank agrees (rank 0's bits
    // are broadcast and compared).
    var generator = new Generator((ulong)(1000 + rank));
    using var input = randn(1 << 18, generator: generator).to(gpu);
    using var first = input.clone();
    using var second = input.clone();
    collective.AllReduceSum(first);
    collective.AllReduceSum(second);
    Check(SameBytes(first, second), "all-reduce is not deterministic: the same inputs gave different bits");
    using var rankZero = first.clone();
    collective.Broadcast(rankZero, 0);
    Check(SameBytes(first, rankZero), "ranks hold different bits after the same all-reduce");

    collective.Barrier();
    Console.WriteLine($"rank {rank}: PASS (NCCL on cuda:{device})");
    return 0;
}
catch (Exception e)
{
    Console.WriteLine($"rank {rank}: FAIL: {e.GetType().Name}: {e.Message}");
    return 1;
}

static bool SameBytes(Tensor a, Tensor b)
{
    using var hostA = a.cpu();
    using var hostB = b.cpu();
    return hostA.bytes.SequenceEqual(hostB.bytes);
}

static void Check(bool condition, string failure)
{
    if (!condition)
    {
        throw new InvalidOperationException(failure);
    }
}
