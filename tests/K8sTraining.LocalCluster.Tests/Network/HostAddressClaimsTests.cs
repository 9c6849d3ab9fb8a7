using System.Diagnostics;
using K8sTraining.NodeAgent.Network;

namespace K8sTraining.LocalCluster.Tests.Network;

/// <summary>
/// Two node agents with one pod address range on one machine (two local clusters side by side, as the test lanes run
/// them) never give one address to two live pods: the second would fail to bind the first one's address and port.
/// </summary>
[Trait("Category", "Integration")]
public sealed class HostAddressClaimsTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("address-claims-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Allocate_Should_SkipAddressesAnotherAgentHolds_When_TwoAgentsShareARange()
    {
        using var firstClaims = new HostAddressClaims(_directory);
        using var secondClaims = new HostAddressClaims(_directory);
        var first = new PodAddressPool("127.1.0.0/16", firstClaims);
        var second = new PodAddressPool("127.1.0.0/16", secondClaims);

        var a = Enumerable.Range(0, 3).Select(i => first.Allocate($"a-{i}")).ToList();
        var b = Enumerable.Range(0, 3).Select(i => second.Allocate($"b-{i}")).ToList();

        Assert.Equal(["127.1.0.1", "127.1.0.2", "127.1.0.3"], a);
        Assert.Equal(["127.1.0.4", "127.1.0.5", "127.1.0.6"], b);
        // A released address is the other agent's to take; an adopted pod cannot keep one the other agent holds.
        first.Release("a-0");
        Assert.Equal("127.1.0.1", second.Allocate("b-3", preferred: "127.1.0.1"));
        Assert.Equal("127.1.0.7", first.Allocate("a-3", preferred: "127.1.0.1"));
    }

    [Fact]
    public void Allocate_Should_TakeTheAddressesBack_When_TheAgentThatHeldThemStops()
    {
        var firstClaims = new HostAddressClaims(_directory);
        var first = new PodAddressPool("127.1.0.0/16", firstClaims);
        Assert.Equal("127.1.0.1", first.Allocate("pod"));

        firstClaims.Dispose();
        using var nextClaims = new HostAddressClaims(_directory);
        var next = new PodAddressPool("127.1.0.0/16", nextClaims);

        Assert.Equal("127.1.0.1", next.Allocate("pod", preferred: "127.1.0.1"));
    }

    [Fact]
    public async Task Allocate_Should_SkipAnAddressAnotherProcessHolds_When_ItsLockIsTaken()
    {
        // flock(1) holds the same kind of lock another node agent's process would (--close: flock itself, not its sleep).
        Directory.CreateDirectory(_directory);
        using var holder = Process.Start(new ProcessStartInfo("flock", ["--exclusive", "--close", Path.Combine(_directory, "127.1.0.1"), "sleep", "60"]))!;
        try
        {
            await Eventually.TrueAsync(() => HeldElsewhere("127.1.0.1"), TimeSpan.FromSeconds(10), "flock holds 127.1.0.1");
            using var claims = new HostAddressClaims(_directory);
            var pool = new PodAddressPool("127.1.0.0/16", claims);

            Assert.Equal("127.1.0.2", pool.Allocate("pod"));

            holder.Kill(entireProcessTree: true);
            await holder.WaitForExitAsync();
            // The holder died: the kernel dropped its lock, and the address is free again.
            Assert.Equal("127.1.0.1", pool.Allocate("adopted", preferred: "127.1.0.1"));
        }
        finally
        {
            if (!holder.HasExited)
            {
                holder.Kill(entireProcessTree: true);
            }
        }
    }

    private bool HeldElsewhere(string address)
    {
        using var probe = new HostAddressClaims(_directory);
        return !probe.TryClaim(address);
    }
}
