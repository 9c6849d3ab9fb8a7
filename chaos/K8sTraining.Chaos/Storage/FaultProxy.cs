using System.Net;
using System.Net.Sockets;
using System.Text;

namespace K8sTraining.Chaos.Storage;

/// <summary>The fault a connection through <see cref="FaultProxy"/> suffers.</summary>
public enum S3Fault
{
    None,
    SlowDown,
    ResetMidBody,
    TruncatedResponse,
    Latency,
}

/// <summary>
/// A TCP proxy on loopback in front of s3rver that, for a share of its connections, answers 503 SlowDown, resets the
/// connection part-way through the request body, cuts the response short, or holds the connection for seconds first.
/// Each connection's fault comes from its own generator seeded by the suite, so a seed replays the same sequence.
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    private static readonly byte[] SlowDownBody = Encoding.ASCII.GetBytes(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>");

    private readonly TcpListener listener;
    private readonly Func<int> upstreamPort;
    private readonly Random random;
    private readonly CancellationTokenSource stop = new();
    private readonly Task acceptLoop;
    private readonly Lock gate = new();
    private readonly Dictionary<S3Fault, int> counts = Enum.GetValues<S3Fault>().ToDictionary(f => f, _ => 0);

    public FaultProxy(Func<int> upstreamPort, int seed)
    {
        this.upstreamPort = upstreamPort;
        random = new Random(seed);
        listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

    public string EndpointUrl => $"http://127.0.0.1:{Port}";

    /// <summary>The share of connections that get a fault (0 turns faults off).</summary>
    public double FaultRate { get; set; }

    public IReadOnlyDictionary<S3Fault, int> Counts
    {
        get
        {
            lock (gate)
            {
                return new Dictionary<S3Fault, int>(counts);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        listener.Stop();
        try
        {
            await acceptLoop;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
        stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptSocketAsync(stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            S3Fault fault;
            int cut;
            int delayMs;
            lock (gate)
            {
                fault = random.NextDouble() < FaultRate ? (S3Fault)random.Next(1, 5) : S3Fault.None;
                cut = random.Next(1, 4096);
                delayMs = random.Next(1000, 4000);
                counts[fault]++;
            }
            _ = Task.Run(() => HandleAsync(client, fault, cut, delayMs));
        }
    }

    private async Task HandleAsync(Socket client, S3Fault fault, int cut, int delayMs)
    {
        using var _ = client;
        using var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (fault == S3Fault.Latency)
            {
                await Task.Delay(delayMs, stop.Token);
            }
            if (fault == S3Fault.SlowDown)
            {
                await ReadRequestHeadAsync(client);
                var head = Encoding.ASCII.GetBytes($"HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: {SlowDownBody.Length}\r\nConnection: close\r\n\r\n");
                await client.SendAsync(head.Concat(SlowDownBody).ToArray(), SocketFlags.None, stop.Token);
                client.Shutdown(SocketShutdown.Both);
                return;
            }
            await upstream.ConnectAsync(IPAddress.Loopback, upstreamPort(), stop.Token);
            var toServer = PipeAsync(client, upstream, fault == S3Fault.ResetMidBody ? cut + 200 : long.MaxValue);
            var toClient = PipeAsync(upstream, client, fault == S3Fault.TruncatedResponse ? cut : long.MaxValue);
            var first = await Task.WhenAny(toServer, toClient);
            if (fault == S3Fault.ResetMidBody && first == toServer)
            {
                client.LingerState = new LingerOption(true, 0);
                upstream.LingerState = new LingerOption(true, 0);
                return;
            }
            if (fault == S3Fault.TruncatedResponse && first == toClient)
            {
                client.Shutdown(SocketShutdown.Both);
                return;
            }
            await Task.WhenAll(toServer, toClient);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
        }
    }

    private static async Task ReadRequestHeadAsync(Socket client)
    {
        var buffer = new byte[8192];
        var seen = new StringBuilder();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        while (!seen.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var n = await client.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            if (n == 0)
            {
                return;
            }
            seen.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }
    }

    /// <summary>Copies until end of stream or <paramref name="limit"/> bytes, then half-closes the destination.</summary>
    private async Task PipeAsync(Socket from, Socket to, long limit)
    {
        var buffer = new byte[16384];
        long total = 0;
        try
        {
            while (total < limit)
            {
                var n = await from.ReceiveAsync(buffer, SocketFlags.None, stop.Token);
                if (n == 0)
                {
                    break;
                }
                var send = (int)Math.Min(n, limit - total);
                await to.SendAsync(buffer.AsMemory(0, send), SocketFlags.None, stop.Token);
                total += send;
            }
            if (total < limit)
            {
                to.Shutdown(SocketShutdown.Send);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }
}
