using System.Buffers.Binary;
using System.IO.Compression;

namespace K8sTraining.Trainer.Data;

/// <summary>Reads the idx format of MNIST and Fashion-MNIST (big-endian header, unsigned bytes), gzipped or not.</summary>
public static class IdxReader
{
    /// <summary>Opens <paramref name="directory"/>/<paramref name="baseName"/>, or the same name with .gz.</summary>
    public static byte[] ReadFile(string directory, string baseName, out int[] dimensions)
    {
        var plain = Path.Combine(directory, baseName);
        var gz = plain + ".gz";
        using Stream file = File.Exists(plain) ? File.OpenRead(plain)
            : File.Exists(gz) ? File.OpenRead(gz)
            : throw new FileNotFoundException($"Neither {plain} nor {gz} exists.", plain);
        using var stream = File.Exists(plain) ? file : new GZipStream(file, CompressionMode.Decompress);
        return Read(stream, out dimensions);
    }

    public static byte[] Read(Stream stream, out int[] dimensions)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Span<byte> header = stackalloc byte[4];
        stream.ReadExactly(header);
        if (header[0] != 0 || header[1] != 0 || header[2] != 0x08)
        {
            throw new InvalidDataException("Not an idx file of unsigned bytes.");
        }
        dimensions = new int[header[3]];
        var count = 1L;
        for (var i = 0; i < dimensions.Length; i++)
        {
            stream.ReadExactly(header);
            dimensions[i] = BinaryPrimitives.ReadInt32BigEndian(header);
            count *= dimensions[i];
        }
        var data = new byte[count];
        stream.ReadExactly(data);
        return data;
    }
}
