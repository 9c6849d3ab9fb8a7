using K8sTraining.Contract;
using K8sTraining.Training.Hosting;
using K8sTraining.Training.Progress;
using K8sTraining.Training.Tasks;
using K8sTraining.Trainer.Tests.Support;
using K8sTraining.Trainer.Tests.Unit;
using static TorchSharp.torch;

namespace K8sTraining.Trainer.Tests.Integration;

/// <summary>A user's own task through the library's one entry point: their model, data, loss and metric, our loop.</summary>
[Collection(TrainerProcessCollection.Name)]
[Trait("Category", "Integration")]
public sealed class CustomTaskTests
{
    [Fact]
    public async Task RunAsync_Should_TrainTheUsersTaskAndReportItsMetric_When_GivenATrainingTask()
    {
        using var run = new TrainerRun();
        var lossCalls = 0;
        var task = new TrainingTask
        {
            ModelName = "users-linear",
            DatasetName = "users-data",
            LoadData = () => new TrainingData(FakeDataset.WithCounts(40, 30, 20), FakeDataset.WithCounts(5, 5, 5), FakeDataset.WithCounts(4, 4, 4)),
            CreateModel = data => nn.Sequential(("flatten", nn.Flatten()), ("linear", nn.Linear(3, data.Train.Classes))),
            CreateLoss = _ => (output, target) =>
            {
                Interlocked.Increment(ref lossCalls);
                return nn.functional.cross_entropy(output, target);
            },
            Metrics = [new SamplesSeen()],
        };
        var code = await TrainerApp.RunAsync(["train", .. run.Args("--epochs", "2", "--batch-size", "10")], task);

        Assert.Equal(TrainerExitCodes.Completed, code);
        Assert.Equal(18, lossCalls);
        var lines = File.ReadAllLines(Path.Combine(run.CheckpointDirectory, "training-log.csv"));
        var header = lines[0].Split(',');
        Assert.Equal([CsvObserver.ValidationAccuracyColumn, CsvObserver.ClassAccuracyColumnPrefix + "0", CsvObserver.ClassAccuracyColumnPrefix + "1", CsvObserver.ClassAccuracyColumnPrefix + "2", "validation.samples", "test.samples", .. CsvObserver.RecipeColumns], header.Skip(9));
        var epoch = lines.Select(l => l.Split(',')).Last(r => r[1] == "epoch");
        Assert.Equal(("12", "15"), (epoch[Array.IndexOf(header, "validation.samples")], epoch[Array.IndexOf(header, "test.samples")]));
        Assert.True(File.Exists(run.Output));
    }

    /// <summary>Counts the samples of an evaluation pass: 12 in validation, 15 in test.</summary>
    private sealed class SamplesSeen : IEvaluationMetric
    {
        private long _count;

        public string Name => "samples";

        public void Reset() => _count = 0;

        public void Update(Tensor output, Tensor target) => _count += target.shape[0];

        public double Result() => _count;
    }
}
