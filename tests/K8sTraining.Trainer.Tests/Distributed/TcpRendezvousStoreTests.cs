using System.Net;
using System.Net.Sockets;
using System.Text;
using K8sTraining.Contract;
using K8sTraining.Training.Distributed;

namespace K8sTraining.Trainer.Tests.Distributed;

/// <summary>The rendezvous store on loopback: rank 0 serves, every rank is a client.</summary>
[Trait("Category", "Integration")]
public sealed class TcpRendezvousStoreTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    [Fact]
    public void Get_Should_ReturnWhatAnotherRankSet_When_BothAreConnected()
    {
        var port = FreePort.Next();
        using var server = TcpRendezvousStore.Connect(0, "127.0.0.1", port, Timeout, CancellationToken.None);
        using var client = TcpRendezvousStore.Connect(1, "127.0.0.1", port, Timeout, CancellationToken.None);

        client.Set("address/1", Encoding.UTF8.GetBytes("10.0.0.2:4000"));
        server.Set("empty", []);

        Assert.Equal("10.0.0.2:4000", Encoding.UTF8.GetString(server.Get("address/1")));
        Assert.Empty(client.Get("empty"));
    }

    [Fact]
    public async Task Get_Should_WaitForTheKey_When_AnotherRankSetsItLater()
    {
        var port = FreePort.Next();
        using var server = TcpRendezvousStore.Connect(0, "127.0.0.1", port, Timeout, CancellationToken.None);
        using var client = TcpRendezvousStore.Connect(1, "127.0.0.1", port, Timeout, CancellationToken.None);
        var value = Enumerable.Range(0, 1 << 20).Select(i => (byte)i).ToArray();

        var getting = Task.Factory.StartNew(() => client.Get("late"), TaskCreationOptions.LongRunning);
        Assert.False(await Finishes(getting, TimeSpan.FromMilliseconds(100)), "get returned before the key was set");
        server.Set("late", value);

        Assert.Equal(value, await getting.WaitAsync(Timeout));
    }

    [Fact]
    public async Task Wait_Should_ReturnOnceEveryKeyIsSet_When_RanksSetThemInAnyOrder()
    {
        var port = FreePort.Next();
        using var server = TcpRendezvousStore.Connect(0, "127.0.0.1", port, Timeout, CancellationToken.None);
        using var one = TcpRendezvousStore.Connect(1, "127.0.0.1", port, Timeout, CancellationToken.None);
        using var two = TcpRendezvousStore.Connect(2, "127.0.0.1", port, Timeout, CancellationToken.None);

        var waiting = Task.Factory.StartNew(() => server.Wait(["1", "2"], Timeout), TaskCreationOptions.LongRunning);
        two.Set("2", [2]);
        Assert.False(await Finishes(waiting, TimeSpan.FromMilliseconds(100)), "wait returned before every key was set");
        one.Set("1", [1]);

        await waiting.WaitAsync(Timeout);
    }

    [Fact]
    public void Wait_Should_RaiseACollectiveExceptionNamingTheKeyAndEndpoint_When_TheTimeoutPasses()
    {
        var port = FreePort.Next();
        using var server = TcpRendezvousStore.Connect(0, "127.0.0.1", port, Timeout, CancellationToken.None);
        using var client = TcpRendezvousStore.Connect(1, "127.0.0.1", port, Timeout, CancellationToken.None);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var error = Assert.Throws<CollectiveException>(() => client.Wait(["never"], TimeSpan.FromMilliseconds(300)));

        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(4));
        Assert.Contains("'never'", error.Message, StringComparison.Ordinal);
        Assert.Contains($"{DistributedEnvironment.MasterPort}={port}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connect_Should_RetryUntilRankZeroServes_When_AClientStartsFirst()
    {
        var port = FreePort.Next();
        var connecting = Task.Factory.StartNew(
            () => TcpRendezvousStore.Connect(1, "127.0.0.1", port, TimeSpan.FromSeconds(10), CancellationToken.None),
            TaskCreationOptions.LongRunning);
        Assert.False(await Finishes(connecting, TimeSpan.FromMilliseconds(200)), "a client connected with no server");

        using var server = TcpRendezvousStore.Connect(0, "127.0.0.1", port, Timeout, CancellationToken.None);
        using var client = await connecting.WaitAsync(Timeout);
        client.Set("k", [7]);
        Assert.Equal([7], server.Get("k"));
    }

    [Fact]
    public void Connect_Should_FailNamingMasterAddrAndPort_When_NobodyServesWithinTheTimeout()
    {
        var port = FreePort.Next();

        var error = Assert.Throws<CollectiveException>(
            () => TcpRendezvousStore.Connect(2, "127.0.0.1", port, TimeSpan.FromMilliseconds(500), CancellationToken.None));

        Assert.Contains($"rank 2 could not reach the rendezvous at {DistributedEnvironment.MasterAddress}=127.0.0.1 {DistributedEnvironment.MasterPort}={port}", error.Message, StringComparison.Ordinal);
        Assert.Contains("worker 0", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Connect_Should_StopRetrying_When_Cancelled()
    {
        var port = FreePort.Next();
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        Assert.ThrowsAny<OperationCanceledException>(
            () => TcpRendezvousStore.Connect(1, "127.0.0.1", port, TimeSpan.FromSeconds(30), cancel.Token));
    }

    [Fact]
    public void Connect_Should_SayThePortIsTaken_When_RankZeroCannotServeOnIt()
    {
        using var squatter = new TcpListener(IPAddress.Any, 0);
        squatter.Start();
        var port = ((IPEndPoint)squatter.LocalEndpoint).Port;

        var error = Assert.Throws<CollectiveException>(() => TcpRendezvousStore.Connect(0, "127.0.0.1", port, Timeout, CancellationToken.None));

        Assert.Contains($"rank 0 could not serve the rendezvous on port {port}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Get_Should_RaiseACollectiveExceptionNamingWorkerZero_When_RankZeroIsGone()
    {
        var port = FreePort.Next();
        var server = TcpRendezvousStore.Connect(0, "127.0.0.1", port, Timeout, CancellationToken.None);
        using var client = TcpRendezvousStore.Connect(1, "127.0.0.1", port, Timeout, CancellationToken.None);

        server.Dispose();
        var error = Assert.Throws<CollectiveException>(() => client.Get("anything"));

        Assert.Contains("lost the rendezvous", error.Message, StringComparison.Ordinal);
        Assert.Contains("worker 0", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Server_Should_DropAClientThatSpeaksNonsense_When_OthersKeepWorking()
    {
        var port = FreePort.Next();
        using var server = TcpRendezvousStore.Connect(0, "127.0.0.1", port, Timeout, CancellationToken.None);
        using (var stray = new TcpClient())
        {
            stray.Connect(IPAddress.Loopback, port);
            // A key length far beyond the limit: what an HTTP probe or another protocol would look like.
            stray.GetStream().Write("GET / HTTP/1.1\r\n\r\n"u8);
            Assert.True(ClosedByPeer(stray.GetStream()), "the server kept answering a client that speaks another protocol");
        }

        server.Set("still", [1]);
        Assert.Equal([1], server.Get("still"));
    }

    /// <summary>True when the peer closed the connection (an orderly close, or a reset as unread data was pending).</summary>
    private static bool ClosedByPeer(NetworkStream stream)
    {
        stream.ReadTimeout = (int)Timeout.TotalMilliseconds;
        try
        {
            return stream.Read(new byte[16]) == 0;
        }
        catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
        {
            return true;
        }
    }

    private static async Task<bool> Finishes(Task task, TimeSpan within) => await Task.WhenAny(task, Task.Delay(within)) == task;
}
