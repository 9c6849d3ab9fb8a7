using TorchSharp;
using static TorchSharp.torch;

namespace K8sTraining.Training.FineTuning;

/// <summary>One tensor of a weights file: its name (the checkpoint key), element type, shape and raw bytes.</summary>
public sealed record SavedTensor(string Name, ScalarType Type, IReadOnlyList<long> Shape, byte[] Data);

/// <summary>
/// Reads a weights file written by TorchSharp's <c>Module.save</c> (model.bin, ema.bin) entry by entry, without a
/// module to load it into: a 7-bit-encoded count, then per entry its name, element type, rank, dimensions and raw
/// bytes. Loading by name and shape needs the entries of another architecture, which <c>Module.load</c> refuses.
/// </summary>
public static class SavedWeights
{
    /// <summary>Every entry of the file at <paramref name="path"/>, in file order; <see cref="InvalidDataException"/> when it is not such a file.</summary>
    public static IReadOnlyList<SavedTensor> Read(string path)
    {
        using var reader = new BinaryReader(File.OpenRead(path));
        try
        {
            var count = Decode(reader);
            var entries = new List<SavedTensor>((int)Math.Min(count, 100_000));
            for (long i = 0; i < count; i++)
            {
                var name = reader.ReadString();
                var type = (ScalarType)Decode(reader);
                var rank = Decode(reader);
                var shape = new long[rank];
                long elements = 1;
                for (var d = 0; d < rank; d++)
                {
                    shape[d] = Decode(reader);
                    elements *= shape[d];
                }
                var length = checked((int)(elements * ElementSize(type)));
                var data = reader.ReadBytes(length);
                if (data.Length != length)
                {
                    throw new EndOfStreamException($"{name}: {data.Length} of {length} bytes");
                }
                entries.Add(new SavedTensor(name, type, shape, data));
            }
            return entries;
        }
        catch (Exception e) when (e is EndOfStreamException or OverflowException or ArgumentOutOfRangeException)
        {
            throw new InvalidDataException($"{path} is not a TorchSharp weights file ({e.Message})", e);
        }
    }

    /// <summary>Bytes per element of <paramref name="type"/>.</summary>
    public static int ElementSize(ScalarType type) => type switch
    {
        ScalarType.Byte or ScalarType.Int8 or ScalarType.Bool => 1,
        ScalarType.Int16 or ScalarType.Float16 or ScalarType.BFloat16 => 2,
        ScalarType.Int32 or ScalarType.Float32 => 4,
        ScalarType.Int64 or ScalarType.Float64 or ScalarType.ComplexFloat32 => 8,
        ScalarType.ComplexFloat64 => 16,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "an element type weights files do not hold"),
    };

    // TorchSharp's length encoding: 7 bits per byte, low first, the high bit set on every byte but the last.
    private static long Decode(BinaryReader reader)
    {
        long value = 0;
        for (var shift = 0; ; shift += 7)
        {
            if (shift > 63)
            {
                throw new OverflowException("a length longer than 64 bits");
            }
            var b = reader.ReadByte();
            value |= (long)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }
    }
}
