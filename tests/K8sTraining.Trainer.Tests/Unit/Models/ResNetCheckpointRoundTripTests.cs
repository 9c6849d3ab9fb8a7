using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;
using K8sTraining.Training.Loop;
using K8sTraining.Training.Models;
using K8sTraining.Training.Options;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace K8sTraining.Trainer.Tests.Unit.Models;

/// <summary>
/// A ResNet's checkpoint holds every parameter and every buffer (batch norm running statistics and
/// num_batches_tracked): training on after a restore gives the same bytes as training on without one.
/// </summary>
[Trait("Category", "Unit")]
[Collection(TorchRandomCollection.Name)]
public sealed class ResNetCheckpointRoundTripTests : IDisposable
{
    private const int Batch = 2;
    // 16 px keeps the test fast; the small stem still leaves layer4 2x2 pixels, so every layer trains.
    private static readonly ModelShape Shape = new(3, 16, 16, 10);

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "k8st-resnet-roundtrip-" + Guid.NewGuid().ToString("N")[..8]);

    [Fact]
    public void Restore_Should_ContinueBitForBit_When_AResNet18CheckpointRoundTripsThroughDisk()
    {
        var batches = Batches(4);
        torch.manual_seed(3);
        using var model = ModelCatalog.Create(ModelNames.ResNet18, Shape, StemNames.Small);
        using var optimizer = optim.AdamW(model.parameters(), 0.01);
        TrainSteps(model, optimizer, batches[..2]);
        var state = new TrainingState
        {
            // From the options, so that the test keeps compiling as the configuration grows fields.
            Configuration = TrainingConfiguration.From(OptionsParser.Parse(["--model", ModelNames.ResNet18, "--dataset", DatasetNames.Synthetic, "--stem", StemNames.Small, "--batch-size", "2"], _ => null)),
            Epoch = 0,
            StepInEpoch = 2,
            GlobalStep = 2,
        };
        var store = new LocalCheckpointStore(_dir, keep: 2, NullLogger.Instance);
        store.Write(CheckpointCodec.Capture(model, optimizer, state));
        var atCheckpoint = Entries(model);
        TrainSteps(model, optimizer, batches[2..]);
        var expected = CheckpointCodec.ModelBytes(model);

        torch.manual_seed(999); // other initial weights and buffers, all overwritten by the restore
        using var restored = ModelCatalog.Create(ModelNames.ResNet18, Shape, StemNames.Small);
        using var restoredOptimizer = optim.AdamW(restored.parameters(), 0.01);
        var found = store.FindNewestValid();
        Assert.NotNull(found);
        CheckpointCodec.Restore(found, restored, restoredOptimizer);
        var afterRestore = Entries(restored);
        TrainSteps(restored, restoredOptimizer, batches[2..]);

        Assert.Equal(atCheckpoint.Keys, afterRestore.Keys);
        Assert.All(atCheckpoint, e => Assert.True(e.Value.SequenceEqual(afterRestore[e.Key]), $"{e.Key} differs after the restore"));
        Assert.Contains("layer4.1.bn2.running_var", afterRestore.Keys);
        Assert.Equal(BitConverter.GetBytes(2L), afterRestore["layer2.0.downsample.1.num_batches_tracked"]);
        Assert.Equal(expected, CheckpointCodec.ModelBytes(restored));
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    /// <summary>Every parameter and buffer, by name, as raw bytes.</summary>
    private static Dictionary<string, byte[]> Entries(nn.Module model) =>
        model.named_parameters().Select(p => (p.name, (Tensor)p.parameter))
            .Concat(model.named_buffers())
            .ToDictionary(e => e.Item1, e => e.Item2.bytes.ToArray());

    private static (float[] Pixels, long[] Labels)[] Batches(int count)
    {
        var random = new Random(11);
        return Enumerable.Range(0, count)
            .Select(_ => (
                Enumerable.Range(0, Batch * Shape.InputSize).Select(_ => (float)random.NextDouble() - 0.5f).ToArray(),
                Enumerable.Range(0, Batch).Select(_ => (long)random.Next(Shape.Classes)).ToArray()))
            .ToArray();
    }

    private static void TrainSteps(nn.Module<Tensor, Tensor> model, OptimizerHelper optimizer, IEnumerable<(float[] Pixels, long[] Labels)> batches)
    {
        model.train();
        foreach (var (pixels, labels) in batches)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var input = torch.tensor(pixels, [Batch, Shape.Channels, Shape.Height, Shape.Width]);
            var loss = nn.functional.cross_entropy(model.forward(input), torch.tensor(labels));
            loss.backward();
            optimizer.step();
        }
    }
}
