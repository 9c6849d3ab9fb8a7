using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using K8sTraining.Contract;

namespace K8sTraining.Training.Distributed;

/// <summary>
/// The rendezvous of a collective group, like PyTorch's TCPStore: rank 0 serves a small key-value store on every address
/// at MASTER_PORT and every rank (rank 0 too) is its client at MASTER_ADDR:MASTER_PORT. The engines publish what their
/// peers need through it (Gloo's addresses, NCCL's unique id). Every call is bounded by the timeout given at connect;
/// a timeout or a lost server raises <see cref="CollectiveException"/> naming the endpoint.
/// </summary>
public sealed class TcpRendezvousStore : IDisposable
{
    /// <summary>Room for the server's reply beyond the wait it was asked to do.</summary>
    private static readonly TimeSpan ReplyGrace = TimeSpan.FromSeconds(10);

    private readonly Socket _socket;
    private readonly RendezvousServer? _server;
    private readonly CancellationTokenRegistration _cancellation;
    private readonly CancellationToken _cancellationToken;
    private readonly Lock _gate = new();
    private bool _disposed;

    private TcpRendezvousStore(int rank, string masterAddress, int masterPort, TimeSpan timeout, Socket socket, RendezvousServer? server, CancellationToken cancellationToken)
    {
        Rank = rank;
        MasterAddress = masterAddress;
        MasterPort = masterPort;
        Timeout = timeout;
        _socket = socket;
        _server = server;
        _cancellationToken = cancellationToken;
        // Closing the socket is what interrupts a blocked call when the caller gives up.
        _cancellation = cancellationToken.Register(() => _socket.Dispose());
    }

    public int Rank { get; }

    public string MasterAddress { get; }

    public int MasterPort { get; }

    /// <summary>How long a get or wait waits for its keys.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>"MASTER_ADDR=host MASTER_PORT=port", for messages.</summary>
    public string Endpoint => Describe(MasterAddress, MasterPort);

    /// <summary>
    /// Joins the store at <paramref name="masterAddress"/>:<paramref name="masterPort"/>; rank 0 first starts serving it
    /// there. Retries while the server is not up yet (or its name does not resolve yet) until <paramref name="timeout"/>.
    /// </summary>
    public static TcpRendezvousStore Connect(int rank, string masterAddress, int masterPort, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentException.ThrowIfNullOrWhiteSpace(masterAddress);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        if (masterPort is < 1 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(masterPort), masterPort, $"{DistributedEnvironment.MasterPort} must be 1 to 65535");
        }

        RendezvousServer? server = null;
        if (rank == 0)
        {
            try
            {
                server = RendezvousServer.Start(masterPort);
            }
            catch (SocketException e)
            {
                throw new CollectiveException(
                    $"rank 0 could not serve the rendezvous on port {masterPort} ({Describe(masterAddress, masterPort)}): {e.Message}. " +
                    $"Another process holds the port: set {DistributedEnvironment.MasterPort} to a free one.", e);
            }
        }

        try
        {
            var socket = ConnectWithRetries(rank, masterAddress, masterPort, timeout, cancellationToken);
            return new TcpRendezvousStore(rank, masterAddress, masterPort, timeout, socket, server, cancellationToken);
        }
        catch
        {
            server?.Dispose();
            throw;
        }
    }

    /// <summary>Stores <paramref name="value"/> under <paramref name="key"/> for every rank.</summary>
    public void Set(string key, ReadOnlySpan<byte> value) => Call(RendezvousProtocol.Set, key, value, Timeout);

    /// <summary>The value under <paramref name="key"/>, waiting up to <see cref="Timeout"/> for some rank to set it.</summary>
    public byte[] Get(string key) => Call(RendezvousProtocol.Get, key, [], Timeout);

    /// <summary>Returns once every key is set; <see cref="CollectiveException"/> when <paramref name="timeout"/> passes first.</summary>
    public void Wait(IEnumerable<string> keys, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        foreach (var key in keys)
        {
            var left = timeout - clock.Elapsed;
            Call(RendezvousProtocol.Wait, key, [], left > TimeSpan.Zero ? left : TimeSpan.Zero, timeout);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        _cancellation.Dispose();
        _socket.Dispose();
        _server?.Dispose();
    }

    internal static string Describe(string masterAddress, int masterPort) =>
        $"{DistributedEnvironment.MasterAddress}={masterAddress} {DistributedEnvironment.MasterPort}={masterPort}";

    private byte[] Call(byte op, string key, ReadOnlySpan<byte> value, TimeSpan wait, TimeSpan? reportedTimeout = null)
    {
        var request = RendezvousProtocol.Request(op, wait, key, value);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            try
            {
                _socket.ReceiveTimeout = (int)Math.Min(int.MaxValue, (wait + ReplyGrace).TotalMilliseconds);
                _socket.Send(request);
                var header = new byte[5];
                ReceiveExactly(header);
                var reply = new byte[RendezvousProtocol.Length(header.AsSpan(1), RendezvousProtocol.MaxValueBytes, "reply")];
                ReceiveExactly(reply);
                return header[0] switch
                {
                    RendezvousProtocol.Ok => reply,
                    RendezvousProtocol.TimedOut => throw new CollectiveException(
                        $"rank {Rank}: the rendezvous key '{key}' was not set within {Seconds(reportedTimeout ?? wait)} ({Endpoint}): " +
                        "a rank has not started or failed before joining; check that every worker is running and reached the rendezvous."),
                    _ => throw new CollectiveException($"rank {Rank}: the rendezvous at {Endpoint} refused '{key}': {Encoding.UTF8.GetString(reply)}"),
                };
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidDataException or IOException)
            {
                _cancellationToken.ThrowIfCancellationRequested();
                throw new CollectiveException(
                    $"rank {Rank}: lost the rendezvous at {Endpoint} during '{key}' ({e.Message}): rank 0 serves it; check that worker 0 is still running.", e);
            }
        }
    }

    private void ReceiveExactly(Span<byte> buffer)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = _socket.Receive(buffer[read..]);
            if (n == 0)
            {
                throw new IOException("the server closed the connection");
            }

            read += n;
        }
    }

    private static Socket ConnectWithRetries(int rank, string host, int port, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var pause = TimeSpan.FromMilliseconds(20);
        var attempts = 0;
        Exception? last = null;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var left = timeout - clock.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                throw new CollectiveException(
                    $"rank {rank} could not reach the rendezvous at {Describe(host, port)} within {Seconds(timeout)} ({attempts} attempts; last error: {last?.Message ?? "none"}). " +
                    $"Rank 0 serves it: check that worker 0 is running, that {DistributedEnvironment.MasterAddress} resolves to it from this pod " +
                    $"and that port {port} is open between the pods.", last!);
            }

            attempts++;
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                attempt.CancelAfter(Min(left, TimeSpan.FromSeconds(5)));
                // DnsEndPoint: the name is resolved again on every attempt, as a headless Service's record appears late.
                socket.ConnectAsync(new DnsEndPoint(host, port), attempt.Token).AsTask().GetAwaiter().GetResult();
                return socket;
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                socket.Dispose();
                // Cancelled by the caller, whatever the attempt failed with (a refusal can race the cancellation).
                cancellationToken.ThrowIfCancellationRequested();
                last = e is OperationCanceledException ? new TimeoutException("connect timed out", e) : e;
            }
            catch
            {
                socket.Dispose();
                throw;
            }

            // Back off up to a second: rank 0 is usually up within seconds, and a retry storm helps nobody.
            var wait = Min(pause, timeout - clock.Elapsed);
            if (wait > TimeSpan.Zero && cancellationToken.WaitHandle.WaitOne(wait))
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            pause = Min(pause * 2, TimeSpan.FromSeconds(1));
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static string Seconds(TimeSpan t) => $"{t.TotalSeconds:0.#} s";
}
