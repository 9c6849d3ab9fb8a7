using System.Buffers.Binary;
using System.IO.Compression;

namespace K8sTraining.Trainer.Tests.Support;

/// <summary>Writes tiny, valid Fashion-MNIST idx files (gzipped, as published) that tests then damage on purpose.</summary>
public static class FashionMnistFiles
{
    public static void Write(string directory, int train = 32, int test = 16)
    {
        Directory.CreateDirectory(directory);
        WriteGz(Path.Combine(directory, "train-images-idx3-ubyte.gz"), Images(train, 1));
        WriteGz(Path.Combine(directory, "train-labels-idx1-ubyte.gz"), Labels(train));
        WriteGz(Path.Combine(directory, "t10k-images-idx3-ubyte.gz"), Images(test, 2));
        WriteGz(Path.Combine(directory, "t10k-labels-idx1-ubyte.gz"), Labels(test));
    }

    public static byte[] Images(int count, int seed)
    {
        var bytes = new byte[16 + count * 28 * 28];
        BinaryPrimitives.WriteInt32BigEndian(bytes, 0x0803);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), 28);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), 28);
        new Random(seed).NextBytes(bytes.AsSpan(16));
        return bytes;
    }

    public static byte[] Labels(int count)
    {
        var bytes = new byte[8 + count];
        BinaryPrimitives.WriteInt32BigEndian(bytes, 0x0801);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), count);
        for (var i = 0; i < count; i++)
        {
            bytes[8 + i] = (byte)(i % 10);
        }
        return bytes;
    }

    public static byte[] Gzip(byte[] content)
    {
        using var memory = new MemoryStream();
        using (var gz = new GZipStream(memory, CompressionLevel.Fastest, leaveOpen: true))
        {
            gz.Write(content);
        }
        return memory.ToArray();
    }

    private static void WriteGz(string path, byte[] content) => File.WriteAllBytes(path, Gzip(content));
}
