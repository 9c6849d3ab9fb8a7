using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace K8sTraining.Training.Distributed;

/// <summary>
/// The rendezvous store's wire format, little-endian and length-prefixed. A request is
/// [op u8][timeout ms i32][key length i32][key UTF-8][value length i32][value]; a reply is
/// [status u8][length i32][value, or the error text]. One request at a time per connection.
/// </summary>
internal static class RendezvousProtocol
{
    public const byte Set = 1;
    public const byte Get = 2;
    public const byte Wait = 3;

    public const byte Ok = 0;
    public const byte TimedOut = 1;
    public const byte Failed = 2;

    public const int MaxKeyBytes = 4096;

    /// <summary>Big enough for any address list or NCCL id; small enough that a stray client cannot exhaust memory.</summary>
    public const int MaxValueBytes = 16 << 20;

    public static byte[] Request(byte op, TimeSpan timeout, string key, ReadOnlySpan<byte> value)
    {
        var keyBytes = Encoding.UTF8.GetBytes(key);
        if (keyBytes.Length is 0 or > MaxKeyBytes)
        {
            throw new ArgumentException($"a rendezvous key must be 1 to {MaxKeyBytes} bytes; '{key}' is {keyBytes.Length}", nameof(key));
        }

        if (value.Length > MaxValueBytes)
        {
            throw new ArgumentException($"a rendezvous value must be at most {MaxValueBytes} bytes; the one for '{key}' is {value.Length}", nameof(value));
        }

        var frame = new byte[1 + 4 + 4 + keyBytes.Length + 4 + value.Length];
        frame[0] = op;
        BinaryPrimitives.WriteInt32LittleEndian(frame.AsSpan(1), (int)Math.Clamp(Math.Ceiling(timeout.TotalMilliseconds), 0, int.MaxValue));
        BinaryPrimitives.WriteInt32LittleEndian(frame.AsSpan(5), keyBytes.Length);
        keyBytes.CopyTo(frame.AsSpan(9));
        BinaryPrimitives.WriteInt32LittleEndian(frame.AsSpan(9 + keyBytes.Length), value.Length);
        value.CopyTo(frame.AsSpan(13 + keyBytes.Length));
        return frame;
    }

    public static byte[] Reply(byte status, ReadOnlySpan<byte> value)
    {
        var frame = new byte[5 + value.Length];
        frame[0] = status;
        BinaryPrimitives.WriteInt32LittleEndian(frame.AsSpan(1), value.Length);
        value.CopyTo(frame.AsSpan(5));
        return frame;
    }

    /// <summary>Reads exactly <paramref name="buffer"/>'s length; false when the peer closed the connection first.</summary>
    public static async ValueTask<bool> ReadExactlyAsync(Socket socket, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await socket.ReceiveAsync(buffer[read..], SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                return false;
            }

            read += n;
        }

        return true;
    }

    /// <summary>Reads a length prefix and checks it against <paramref name="max"/>.</summary>
    public static int Length(ReadOnlySpan<byte> prefix, int max, string what)
    {
        var length = BinaryPrimitives.ReadInt32LittleEndian(prefix);
        if (length < 0 || length > max)
        {
            throw new InvalidDataException($"rendezvous protocol: a {what} of {length} bytes is outside 0..{max} (is something else listening on this port?)");
        }

        return length;
    }
}
