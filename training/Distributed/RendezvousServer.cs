using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace K8sTraining.Training.Distributed;

/// <summary>
/// The key-value store rank 0 serves on MASTER_PORT (every address) for its group's rendezvous: set, get (waiting for the
/// key) and wait, each bounded by the client's timeout. Values are write-once in practice; a second set replaces.
/// </summary>
internal sealed class RendezvousServer : IDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<string, byte[]> _values = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TaskCompletionSource> _arrivals = new(StringComparer.Ordinal);
    private readonly List<Socket> _clients = [];
    private readonly Task _acceptLoop;

    private RendezvousServer(Socket listener)
    {
        _listener = listener;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

    /// <summary>Listens on every IPv4 address at <paramref name="port"/> (0: any free port).</summary>
    public static RendezvousServer Start(int port)
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // A previous attempt's connections may linger in TIME_WAIT on the same port.
            listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Bind(new IPEndPoint(IPAddress.Any, port));
            listener.Listen(512);
            return new RendezvousServer(listener);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        lock (_clients)
        {
            foreach (var client in _clients)
            {
                client.Dispose();
            }

            _clients.Clear();
        }

        try
        {
            _acceptLoop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // The loop ends by its socket's disposal; how it ends does not matter here.
        }

        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            client.NoDelay = true;
            lock (_clients)
            {
                _clients.Add(client);
            }

            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(Socket client)
    {
        var header = new byte[9];
        var prefix = new byte[4];
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                if (!await RendezvousProtocol.ReadExactlyAsync(client, header, _stop.Token).ConfigureAwait(false))
                {
                    return;
                }

                var op = header[0];
                var timeout = TimeSpan.FromMilliseconds(BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(1)));
                var key = new byte[RendezvousProtocol.Length(header.AsSpan(5), RendezvousProtocol.MaxKeyBytes, "key")];
                if (!await RendezvousProtocol.ReadExactlyAsync(client, key, _stop.Token).ConfigureAwait(false)
                    || !await RendezvousProtocol.ReadExactlyAsync(client, prefix, _stop.Token).ConfigureAwait(false))
                {
                    return;
                }

                var value = new byte[RendezvousProtocol.Length(prefix, RendezvousProtocol.MaxValueBytes, "value")];
                if (!await RendezvousProtocol.ReadExactlyAsync(client, value, _stop.Token).ConfigureAwait(false))
                {
                    return;
                }

                var reply = await HandleAsync(op, Encoding.UTF8.GetString(key), value, timeout).ConfigureAwait(false);
                await client.SendAsync(reply, SocketFlags.None, _stop.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException or InvalidDataException)
        {
            // A client that left or spoke nonsense loses its connection; the others are unaffected.
        }
        finally
        {
            lock (_clients)
            {
                _clients.Remove(client);
            }

            client.Dispose();
        }
    }

    private async Task<byte[]> HandleAsync(byte op, string key, byte[] value, TimeSpan timeout)
    {
        switch (op)
        {
            case RendezvousProtocol.Set:
                lock (_values)
                {
                    _values[key] = value;
                    if (_arrivals.Remove(key, out var arrival))
                    {
                        arrival.TrySetResult();
                    }
                }

                return RendezvousProtocol.Reply(RendezvousProtocol.Ok, []);
            case RendezvousProtocol.Get:
            case RendezvousProtocol.Wait:
                if (!await ArrivedAsync(key, timeout).ConfigureAwait(false))
                {
                    return RendezvousProtocol.Reply(RendezvousProtocol.TimedOut, []);
                }

                if (op == RendezvousProtocol.Wait)
                {
                    return RendezvousProtocol.Reply(RendezvousProtocol.Ok, []);
                }

                lock (_values)
                {
                    return RendezvousProtocol.Reply(RendezvousProtocol.Ok, _values[key]);
                }

            default:
                return RendezvousProtocol.Reply(RendezvousProtocol.Failed, Encoding.UTF8.GetBytes($"unknown operation {op}"));
        }
    }

    private async Task<bool> ArrivedAsync(string key, TimeSpan timeout)
    {
        Task arrival;
        lock (_values)
        {
            if (_values.ContainsKey(key))
            {
                return true;
            }

            if (!_arrivals.TryGetValue(key, out var source))
            {
                source = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _arrivals[key] = source;
            }

            arrival = source.Task;
        }

        // A timer may fire a little before its time (the clock it runs on ticks in whole milliseconds): wait out the
        // rest, so a wait never reports a timeout before the whole timeout has passed.
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                var left = timeout - clock.Elapsed;
                await arrival.WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero, _stop.Token).ConfigureAwait(false);
                return true;
            }
            catch (TimeoutException) when (clock.Elapsed >= timeout)
            {
                return false;
            }
            catch (TimeoutException)
            {
                // early: the loop waits the remainder
            }
        }
    }
}
