using System.Buffers.Binary;
using System.IO.Compression;

namespace K8sTraining.Training.Data;

/// <summary>Reads the idx format of MNIST and Fashion-MNIST (big-endian header, unsigned bytes), gzipped or not.</summary>
public static class IdxReader
{
    /// <summary>
    /// Opens <paramref name="directory"/>/<paramref name="baseName"/>, or the same name with .gz. Throws
    /// <see cref="FileNotFoundException"/> when neither exists, and <see cref="InvalidDataException"/> naming the file
    /// when it is truncated, not gzip, or not an idx file.
    /// </summary>
    public static byte[] ReadFile(string directory, string baseName, out int[] dimensions)
    {
        var plain = Path.Combine(directory, baseName);
        var gz = plain + ".gz";
        var path = File.Exists(plain) ? plain : File.Exists(gz) ? gz : throw new FileNotFoundException($"Neither {plain} nor {gz} exists.", plain);
        using Stream file = File.OpenRead(path);
        using var stream = path == plain ? file : new GZipStream(file, CompressionMode.Decompress);
        try
        {
            return Read(stream, out dimensions, path == plain ? file.Length : null);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{path} is truncated: it ends before the data its idx header announces.", e);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path} cannot be read as {(path == gz ? "a gzipped" : "an")} idx file: {e.Message}", e);
        }
    }

    public static byte[] Read(Stream stream, out int[] dimensions) => Read(stream, out dimensions, null);

    private static byte[] Read(Stream stream, out int[] dimensions, long? length)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Span<byte> header = stackalloc byte[4];
        stream.ReadExactly(header);
        if (header[0] != 0 || header[1] != 0 || header[2] != 0x08 || header[3] is 0 or > 4)
        {
            throw new InvalidDataException("Not an idx file of unsigned bytes (the header does not start with 00 00 08 and 1 to 4 dimensions).");
        }
        dimensions = new int[header[3]];
        var count = 1L;
        for (var i = 0; i < dimensions.Length; i++)
        {
            stream.ReadExactly(header);
            dimensions[i] = BinaryPrimitives.ReadInt32BigEndian(header);
            if (dimensions[i] < 0 || (count *= dimensions[i]) > Array.MaxLength)
            {
                throw new InvalidDataException($"The idx header announces dimensions {string.Join(" x ", dimensions[..(i + 1)])}, which no idx file of this kind has.");
            }
        }
        var headerBytes = 4L * (1 + dimensions.Length);
        if (length is { } l && headerBytes + count > l)
        {
            throw new EndOfStreamException($"the header announces {count} bytes of data, the file holds {l - headerBytes}");
        }
        var data = new byte[count];
        stream.ReadExactly(data);
        return data;
    }
}
