using K8sTraining.Training.Checkpoints;
using K8sTraining.Training.Data;
using K8sTraining.Training.Models;
using K8sTraining.Training.Loop;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace K8sTraining.Trainer.Tests.Unit;

/// <summary>In-process TorchSharp (which also proves the native library loads here): the state survives a round trip.</summary>
[Collection(K8sTraining.Trainer.Tests.Unit.Models.TorchRandomCollection.Name)]
[Trait("Category", "Unit")]
public sealed class CheckpointRoundTripTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "k8st-roundtrip-" + Guid.NewGuid().ToString("N")[..8]);

    [Theory]
    [InlineData("mlp", "adamw")]
    [InlineData("cnn", "sgd")]
    public void Restore_Should_ContinueBitForBit_When_ModelOptimizerAndRngRoundTripThroughDisk(string modelName, string optimizerName)
    {
        var data = SyntheticDataset.Create(64).Train;
        torch.manual_seed(3);
        using var model = ModelCatalog.Create(modelName, ModelShape.FashionMnist);
        using var optimizer = Optimizer(optimizerName, model);
        TrainSteps(model, optimizer, data, 0, 3);
        var state = new TrainingState
        {
            Configuration = new TrainingConfiguration(modelName, "synthetic", 64, 3, 8, optimizerName, 0.01, 1),
            Schedule = new LegacyEpochSchedule(0.01, 0.9),
            Epoch = 1,
            StepInEpoch = 3,
            GlobalStep = 11,
            EpochLossSum = 1.25,
            EpochSamples = 24,
            History = [new EpochMetrics(0, 8, 0.5, 0.75, 0.01)],
        };
        var store = new LocalCheckpointStore(_dir, keep: 2, NullLogger.Instance);
        store.Write(CheckpointCodec.Capture(model, optimizer, state));
        TrainSteps(model, optimizer, data, 3, 3);
        var expected = CheckpointCodec.ModelBytes(model);

        torch.manual_seed(999); // a different initialisation and RNG position, all overwritten by the restore
        using var restoredModel = ModelCatalog.Create(modelName, ModelShape.FashionMnist);
        using var restoredOptimizer = Optimizer(optimizerName, restoredModel);
        var found = store.FindNewestValid();
        Assert.NotNull(found);
        var restoredState = CheckpointCodec.ReadState(found);
        CheckpointCodec.Restore(found, restoredModel, restoredOptimizer);
        TrainSteps(restoredModel, restoredOptimizer, data, 3, 3);

        Assert.Equal(state.Configuration, restoredState.Configuration);
        Assert.Equal((1, 3, 11L, 1.25, 24L), (restoredState.Epoch, restoredState.StepInEpoch, restoredState.GlobalStep, restoredState.EpochLossSum, restoredState.EpochSamples));
        Assert.Equal(state.Schedule, restoredState.Schedule);
        Assert.Equal(state.History, restoredState.History);
        Assert.Equal(expected, CheckpointCodec.ModelBytes(restoredModel));
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static OptimizerHelper Optimizer(string name, nn.Module model) =>
        name == "sgd" ? optim.SGD(model.parameters(), 0.01, momentum: 0.9) : optim.AdamW(model.parameters(), 0.01);

    private static void TrainSteps(nn.Module<Tensor, Tensor> model, OptimizerHelper optimizer, ImageDataset data, int firstStep, int steps)
    {
        model.train();
        var sampler = new EpochSampler(3, 0, data.Count, 8);
        var pixels = new float[8 * ImageDataset.PixelsPerImage];
        var labels = new long[8];
        for (var step = firstStep; step < firstStep + steps; step++)
        {
            using var scope = NewDisposeScope();
            data.Gather(sampler.Batch(step), pixels, labels);
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.forward(torch.tensor(pixels, [8, 1, 28, 28])), torch.tensor(labels));
            loss.backward();
            optimizer.step();
        }
    }
}
