using K8sTraining.Training.Checkpoints;
using K8sTraining.Training.Distributed;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace K8sTraining.Trainer.Tests.Distributed;

/// <summary>The data-parallel pieces on real Gloo ranks inside the test process (one thread per rank).</summary>
[Trait("Category", "Integration")]
public sealed class DataParallelPiecesTests
{
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void AllReduce_Should_LeaveEveryRankTheSumOfTheGradients_When_EachRankBackpropagatedItsOwn(int world)
    {
        var results = LocalGroup.Run(world, c =>
        {
            using var used = new Parameter(tensor(new float[] { 1, 2, 3, 4 }));
            using var second = new Parameter(tensor(new float[] { 5, 6 }));
            using var unused = new Parameter(tensor(new float[] { 7 }));
            ((used * (c.Rank + 1)).sum() + (second * second * (c.Rank + 1)).sum()).backward();
            using var buckets = new GradientBuckets(c, [used, second, unused]);

            buckets.AllReduce();

            return (Used: used.grad!.data<float>().ToArray(), Second: second.grad!.data<float>().ToArray(), UnusedHasGrad: unused.grad is not null);
        });

        var factor = world * (world + 1) / 2f;
        Assert.All(results, r =>
        {
            Assert.Equal([factor, factor, factor, factor], r.Used);
            Assert.Equal([10 * factor, 12 * factor], r.Second);
            Assert.False(r.UnusedHasGrad);
        });
    }

    [Fact]
    public void Parameters_Should_GiveEveryRankRankZerosWeightsAndBuffers_When_Broadcast()
    {
        var results = LocalGroup.Run(2, c =>
        {
            using var model = nn.Sequential(("fc", nn.Linear(3, 2)), ("bn", nn.BatchNorm1d(2)));
            using (no_grad())
            {
                foreach (var (_, p) in model.named_parameters())
                {
                    p.fill_(c.Rank + 1);
                }
                foreach (var (_, b) in model.named_buffers())
                {
                    b.fill_(c.Rank + 1);
                }
            }

            WeightBroadcast.Parameters(c, model);

            return model.named_parameters().Select(p => p.parameter).Concat(model.named_buffers().Select(b => b.buffer))
                .SelectMany(t => t.to_type(ScalarType.Float64).data<double>().ToArray()).ToArray();
        });

        Assert.All(results, r => Assert.All(r, v => Assert.Equal(1.0, v)));
    }

    [Fact]
    public void Receive_Should_CommitRankZerosCheckpointFiles_When_RankZeroSendsOne()
    {
        var root = Path.Combine(Path.GetTempPath(), "k8st-dp-pieces", Guid.NewGuid().ToString("N")[..10]);
        try
        {
            var results = LocalGroup.Run(2, c =>
            {
                var store = new LocalCheckpointStore(Path.Combine(root, $"rank-{c.Rank}"), 3, NullLogger.Instance);
                if (c.Rank == 0)
                {
                    var written = store.Write(new CheckpointSnapshot(42, 1, 5, [("model.bin", [1, 2, 3]), ("empty.bin", []), ("state.json", "{}"u8.ToArray())]));
                    ResumeTransfer.Send(c, written);
                    ResumeTransfer.Send(c, null);
                    return (written, (LocalCheckpoint?)null);
                }
                var received = ResumeTransfer.Receive(c, store);
                return (received, ResumeTransfer.Receive(c, store));
            });

            var (sent, _) = results[0];
            var (copy, none) = results[1];
            Assert.NotNull(copy);
            Assert.Null(none);
            Assert.Equal((sent!.Manifest.GlobalStep, sent.Manifest.Epoch, sent.Manifest.StepInEpoch), (copy!.Manifest.GlobalStep, copy.Manifest.Epoch, copy.Manifest.StepInEpoch));
            Assert.NotEqual(sent.Directory, copy.Directory);
            Assert.All(sent.Manifest.Files, f => Assert.Equal(File.ReadAllBytes(sent.FilePath(f.Name)), File.ReadAllBytes(copy.FilePath(f.Name))));
            Assert.Null(LocalCheckpointStore.Verify(copy.Directory, out _));
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    [Fact]
    public void Agree_Should_GiveEveryRankTheSameTotalsAndStop_When_OneRankAsksToStop()
    {
        var results = LocalGroup.Run(3, c => StepTally.Agree(c, new StepTally(c.Rank == 2, 0.5 * (c.Rank + 1), c.Rank + 1, c.Rank)));

        Assert.All(results, r => Assert.Equal(new StepTally(true, 3.0, 6, 3), r));
    }
}
