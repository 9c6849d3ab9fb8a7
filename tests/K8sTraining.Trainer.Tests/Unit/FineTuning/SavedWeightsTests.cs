using K8sTraining.Training.Checkpoints;
using K8sTraining.Training.FineTuning;
using K8sTraining.Training.Models;
using TorchSharp;

namespace K8sTraining.Trainer.Tests.Unit.FineTuning;

// Builds networks, which draws from torch's process-wide generator: alone, so no seeded test sees those draws.
[Collection(K8sTraining.Trainer.Tests.Unit.Models.TorchRandomCollection.Name)]
[Trait("Category", "Unit")]
public sealed class SavedWeightsTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "k8st-saved-weights-" + Guid.NewGuid().ToString("N")[..8]);

    [Fact]
    public void Read_Should_GiveEveryTensorWithItsNameShapeAndBytes_When_TheFileWasWrittenByModelSave()
    {
        Directory.CreateDirectory(directory);
        using var model = new Cnn(new ModelShape(1, 28, 28, 10));
        var path = Path.Combine(directory, CheckpointCodec.ModelFile);
        File.WriteAllBytes(path, CheckpointCodec.ModelBytes(model));

        var saved = SavedWeights.Read(path);

        var state = model.state_dict();
        Assert.Equal(state.Keys, saved.Select(s => s.Name));
        Assert.All(saved, s =>
        {
            Assert.Equal<long>(state[s.Name].shape, s.Shape);
            Assert.Equal(state[s.Name].dtype, s.Type);
            Assert.True(state[s.Name].bytes.SequenceEqual(s.Data), $"{s.Name}: bytes differ");
        });
        Assert.Contains(saved, s => s.Name == "fc2.weight" && s.Shape.SequenceEqual(new long[] { 10, 128 }));
    }

    [Fact]
    public void Read_Should_RefuseTheFile_When_ItIsTruncated()
    {
        Directory.CreateDirectory(directory);
        using var model = new Cnn(new ModelShape(1, 28, 28, 10));
        var path = Path.Combine(directory, CheckpointCodec.ModelFile);
        var bytes = CheckpointCodec.ModelBytes(model);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);

        Assert.Throws<InvalidDataException>(() => SavedWeights.Read(path));
    }

    public void Dispose()
    {
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
