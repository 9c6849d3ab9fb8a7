using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using K8sTraining.Contract;
using K8sTraining.TestSupport;
using K8sTraining.Training.Distributed;
using static TorchSharp.torch;

namespace K8sTraining.Benchmarks;

/// <summary>
/// How close Gloo's all-reduce comes to what the wire allows: 2 ranks on loopback (one thread each, in this process, each
/// with its own TCP connections, as two processes would have) sum a float32 buffer, against a plain loopback TCP
/// exchange of the same bytes (each side sends the whole buffer while receiving the other's, which is the traffic of a
/// 2-rank ring all-reduce: half the buffer out and in during reduce-scatter, half during all-gather). Bandwidth is the
/// buffer's size over the time of one operation; gloo / tcp near 1 means the engine adds little over the copy (its
/// additions are the sums and its framing). Knob: BENCH_COLLECTIVE_SECONDS per size (default 1).
/// </summary>
public sealed class CollectiveBenchmark : IBenchmarkSuite
{
    private static readonly int[] SizesInBytes = [64 << 10, 1 << 20, 4 << 20, 16 << 20];

    public string Name => "collective";

    public Task RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        var c = CultureInfo.InvariantCulture;
        var seconds = double.TryParse(Environment.GetEnvironmentVariable("BENCH_COLLECTIVE_SECONDS"), NumberStyles.Float, c, out var s) && s > 0 ? s : 1.0;
        Console.WriteLine($"Gloo all-reduce (sum, float32, 2 ranks on loopback) against a loopback TCP exchange of the same bytes ({seconds.ToString(c)} s per size):");
        Console.WriteLine("| buffer | gloo all-reduce MB/s | tcp exchange MB/s | gloo / tcp |");
        foreach (var size in SizesInBytes)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var gloo = GlooAllReduce(size, seconds);
            var tcp = TcpExchange(size, seconds);
            Console.WriteLine($"| {Describe(size)} | {gloo.ToString("F0", c)} | {tcp.ToString("F0", c)} | {(gloo / tcp).ToString("F2", c)} |");
        }

        return Task.CompletedTask;
    }

    /// <summary>MB/s of buffer summed: 2 ranks, timed on rank 0 between barriers.</summary>
    private static double GlooAllReduce(int bytes, double seconds)
    {
        var port = FreePort.Next();
        var perSecond = new double[2];
        var threads = Enumerable.Range(0, 2).Select(rank => new Thread(() =>
        {
            var options = new CollectiveOptions(CollectiveBackends.Gloo, rank, 2, "127.0.0.1", port, "127.0.0.1", TimeSpan.FromSeconds(60));
            using var collective = CollectiveFactory.Connect(options, CancellationToken.None);
            using var buffer = ones(bytes / sizeof(float), dtype: ScalarType.Float32);
            var iterations = Calibrate(collective, () => collective.AllReduceSum(buffer), seconds);
            collective.Barrier();
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < iterations; i++)
            {
                collective.AllReduceSum(buffer);
            }

            perSecond[rank] = iterations / clock.Elapsed.TotalSeconds;
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        return perSecond[0] * bytes / 1e6;
    }

    /// <summary>
    /// Iterations for about <paramref name="seconds"/>, agreed by both ranks (rank 0's count, broadcast): a few warm-ups,
    /// timed, then scaled.
    /// </summary>
    private static int Calibrate(ICollective collective, Action operation, double seconds)
    {
        var clock = Stopwatch.StartNew();
        var warmups = 0;
        while (true)
        {
            operation();
            warmups++;
            // Both ranks must stop at the same count: let rank 0 decide.
            using var more = tensor(new[] { warmups < 3 || clock.Elapsed.TotalSeconds < 0.1 ? 1f : 0f });
            collective.Broadcast(more, 0);
            if (more.item<float>() == 0f)
            {
                break;
            }
        }

        using var count = tensor(new[] { (float)Math.Max(1, Math.Round(seconds * warmups / clock.Elapsed.TotalSeconds)) });
        collective.Broadcast(count, 0);
        return (int)count.item<float>();
    }

    /// <summary>MB/s of buffer exchanged: two loopback sockets, each sending the buffer while receiving the other's.</summary>
    private static double TcpExchange(int bytes, double seconds)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var a = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        a.Connect((IPEndPoint)listener.LocalEndpoint);
        using var b = listener.AcceptSocket();
        b.NoDelay = true;
        var payloadA = new byte[bytes];
        var payloadB = new byte[bytes];
        var inboxA = new byte[bytes];
        var inboxB = new byte[bytes];

        // Both directions at once, as the ring runs them; pool tasks, not fresh threads, so small buffers time the copy.
        void Once() => Task.WaitAll(
            Task.Run(() => SendAll(a, payloadA)),
            Task.Run(() => SendAll(b, payloadB)),
            Task.Run(() => ReceiveAll(b, inboxB)),
            Task.Run(() => ReceiveAll(a, inboxA)));

        var clock = Stopwatch.StartNew();
        var warmups = 0;
        for (; warmups < 3 || clock.Elapsed.TotalSeconds < 0.1; warmups++)
        {
            Once();
        }

        var iterations = Math.Max(1, (int)Math.Round(seconds * warmups / clock.Elapsed.TotalSeconds));
        clock.Restart();
        for (var i = 0; i < iterations; i++)
        {
            Once();
        }

        return iterations / clock.Elapsed.TotalSeconds * bytes / 1e6;
    }

    private static void SendAll(Socket socket, byte[] data)
    {
        for (var sent = 0; sent < data.Length;)
        {
            sent += socket.Send(data, sent, data.Length - sent, SocketFlags.None);
        }
    }

    private static void ReceiveAll(Socket socket, byte[] data)
    {
        for (var read = 0; read < data.Length;)
        {
            var n = socket.Receive(data, read, data.Length - read, SocketFlags.None);
            if (n == 0)
            {
                throw new IOException("the loopback peer closed the connection");
            }

            read += n;
        }
    }

    private static string Describe(int bytes) => bytes >= 1 << 20 ? $"{bytes >> 20} MB" : $"{bytes >> 10} KB";
}
