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

    /// <summary>With --ema-decay: the EMA weights, in the same format as <see cref="ModelFile"/> (load them into the same model).</summary>
    public const string EmaFile = "ema.bin";

    public static CheckpointSnapshot Capture(nn.Module model, OptimizerHelper optimizer, TrainingState state, Regularization.ExponentialMovingAverage? ema = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(state);
        List<(string, byte[])> files =
        [
            (ModelFile, ModelBytes(model)),
            (OptimizerFile, Serialize(w => optimizer.save_state_dict(w))),
            (RandomStateFile, RandomState()),
            (TrainingState.FileName, state.ToJsonBytes()),
        ];
        if (ema is not null)
        {
            // The averages swapped into the model are saved in the model's own format, so any tool that loads model.bin loads ema.bin.
            using (ema.SwapIn())
            {
                files.Add((EmaFile, ModelBytes(model)));
            }
        }
        return new CheckpointSnapshot(state.GlobalStep, state.Epoch, state.StepInEpoch, files) { Best = state.Best };
    }

    /// <summary>
    /// Loads the checkpoint's EMA weights (ema.bin) into <paramref name="model"/>; call before <see cref="Restore"/>,
    /// build the EMA from the model, then restore the trained weights over them. False when the checkpoint has none.
    /// </summary>
    public static bool LoadEmaInto(LocalCheckpoint checkpoint, nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        ArgumentNullException.ThrowIfNull(model);
        if (!checkpoint.Manifest.Files.Any(f => f.Name == EmaFile))
        {
            return false;
        }
        using var reader = new BinaryReader(File.OpenRead(checkpoint.FilePath(EmaFile)));
        model.load(reader);
        return true;
    }

    /// <summary>Reads state.json alone, to check the configuration before anything is loaded.</summary>
    public static TrainingState ReadState(LocalCheckpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        return TrainingState.Parse(File.ReadAllBytes(checkpoint.FilePath(TrainingState.FileName)));
    }

    /// <summary>
    /// Loads the weights, the optimizer state and the RNG; a null <paramref name="optimizer"/> keeps its fresh state (a
    /// staged run resumed at the start of a stage, whose optimizer is new).
    /// </summary>
    public static void Restore(LocalCheckpoint checkpoint, nn.Module model, OptimizerHelper? optimizer)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        ArgumentNullException.ThrowIfNull(model);
        using (var reader = new BinaryReader(File.OpenRead(checkpoint.FilePath(ModelFile))))
        {
            model.load(reader);
        }
        if (optimizer is not null)
        {
            using var reader = new BinaryReader(File.OpenRead(checkpoint.FilePath(OptimizerFile)));
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

    /// <summary>
    /// Serialises in two passes: the first only counts the bytes, the second writes them into an array of exactly that
    /// size. A MemoryStream would copy the data twice more (growing by doubling, then ToArray) and leave a trail of
    /// large-object-heap arrays behind it, all on the training thread.
    /// </summary>
    private static byte[] Serialize(Action<BinaryWriter> write)
    {
        var counter = new CountingStream();
        using (var writer = new BinaryWriter(counter, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            write(writer);
        }
        var bytes = GC.AllocateUninitializedArray<byte>(checked((int)counter.Length));
        using var memory = new MemoryStream(bytes, writable: true);
        using (var writer = new BinaryWriter(memory, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            write(writer);
        }
        if (memory.Position != bytes.Length)
        {
            throw new InvalidOperationException($"The checkpoint serialised to {counter.Length} bytes, then to {memory.Position}.");
        }
        return bytes;
    }

    /// <summary>A write-only stream that keeps nothing and counts what is written to it.</summary>
    private sealed class CountingStream : Stream
    {
        private long _length;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => _length;

        public override long Position
        {
            get => _length;
            set => throw new NotSupportedException();
        }

        public override void Write(byte[] buffer, int offset, int count) => _length += count;

        public override void Write(ReadOnlySpan<byte> buffer) => _length += buffer.Length;

        public override void WriteByte(byte value) => _length++;

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
