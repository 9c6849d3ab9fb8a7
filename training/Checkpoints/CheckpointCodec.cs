using K8sTraining.Training.Loop;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace K8sTraining.Training.Checkpoints;

/// <summary>
/// Turns the live training state into checkpoint files and back: model weights and buffers, optimizer state, the torch
/// RNG state and state.json (position, schedule, metric history, configuration).
/// </summary>
public static class CheckpointCodec
{
    public const string ModelFile = "model.bin";
    public const string OptimizerFile = "optimizer.bin";
    public const string RandomStateFile = "rng.bin";

    public static CheckpointSnapshot Capture(nn.Module model, OptimizerHelper optimizer, TrainingState state)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(state);
        return new CheckpointSnapshot(state.GlobalStep, state.Epoch, state.StepInEpoch,
        [
            (ModelFile, ModelBytes(model)),
            (OptimizerFile, Serialize(w => optimizer.save_state_dict(w))),
            (RandomStateFile, RandomState()),
            (TrainingState.FileName, state.ToJsonBytes()),
        ]);
    }

    /// <summary>Reads state.json alone, to check the configuration before anything is loaded.</summary>
    public static TrainingState ReadState(LocalCheckpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        return TrainingState.Parse(File.ReadAllBytes(checkpoint.FilePath(TrainingState.FileName)));
    }

    public static void Restore(LocalCheckpoint checkpoint, nn.Module model, OptimizerHelper optimizer)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        using (var reader = new BinaryReader(File.OpenRead(checkpoint.FilePath(ModelFile))))
        {
            model.load(reader);
        }
        using (var reader = new BinaryReader(File.OpenRead(checkpoint.FilePath(OptimizerFile))))
        {
            optimizer.load_state_dict(reader);
        }
        var rng = File.ReadAllBytes(checkpoint.FilePath(RandomStateFile));
        using var rngTensor = torch.tensor(rng, dtype: ScalarType.Byte);
        torch.random.set_rng_state(rngTensor);
    }

    public static byte[] ModelBytes(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Serialize(w => model.save(w));
    }

    private static byte[] RandomState()
    {
        using var state = torch.random.get_rng_state();
        return state.data<byte>().ToArray();
    }

    private static byte[] Serialize(Action<BinaryWriter> write)
    {
        using var memory = new MemoryStream();
        using (var writer = new BinaryWriter(memory, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            write(writer);
        }
        return memory.ToArray();
    }
}
