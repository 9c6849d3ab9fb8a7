using K8sTraining.NodeAgent.Network;

namespace K8sTraining.LocalCluster.Tests.Network;

[Trait("Category", "Unit")]
public sealed class PodAddressPoolTests
{
    [Theory]
    [InlineData("first node", "127.0.0.1", "127.1.0.0/16")]
    [InlineData("second node", "127.0.0.2", "127.2.0.0/16")]
    [InlineData("last node", "127.0.0.254", "127.254.0.0/16")]
    public void DefaultRangeFor_Should_GiveNodeIItsOwnSlash16_When_HostIPIs127001I(string name, string hostIP, string range)
    {
        Assert.Equal(range, PodAddressPool.DefaultRangeFor(hostIP));
        Assert.NotEmpty(name);
    }

    [Theory]
    [InlineData("not loopback", "10.0.0.1")]
    [InlineData("not a node address", "127.1.0.1")]
    [InlineData("not an address", "local")]
    public void DefaultRangeFor_Should_SayToSetTheRange_When_HostIPIsNot127001I(string name, string hostIP)
    {
        var error = Assert.Throws<ArgumentException>(() => PodAddressPool.DefaultRangeFor(hostIP));
        Assert.Contains("PodAddressRange", error.Message, StringComparison.Ordinal);
        Assert.NotEmpty(name);
    }

    [Theory]
    [InlineData("the nodes' own /16", "127.0.0.0/16")]
    [InlineData("not a /16", "127.1.0.0/24")]
    [InlineData("not loopback", "10.1.0.0/16")]
    [InlineData("host bits set", "127.1.2.0/16")]
    public void Constructor_Should_RefuseTheRange_When_ItIsNotASlash16OfLoopbackAwayFromTheNodes(string name, string range)
    {
        var error = Assert.Throws<ArgumentException>(() => new PodAddressPool(range));
        Assert.Contains(range, error.Message, StringComparison.Ordinal);
        Assert.NotEmpty(name);
    }

    [Fact]
    public void Allocate_Should_GiveEachPodItsOwnAddressAwayFromTheNodeAddresses_When_PodsStart()
    {
        var pool = new PodAddressPool("127.1.0.0/16");

        var addresses = Enumerable.Range(0, 300).Select(i => pool.Allocate($"uid-{i}")).ToList();

        Assert.Equal(300, addresses.Distinct().Count());
        Assert.Equal("127.1.0.1", addresses[0]);
        Assert.Equal("127.1.0.254", addresses[253]);
        Assert.Equal("127.1.1.1", addresses[254]);
        Assert.All(addresses, a => Assert.StartsWith("127.1.", a, StringComparison.Ordinal));
        Assert.Equal(300, pool.InUse);
    }

    [Fact]
    public void Allocate_Should_ReturnTheSameAddress_When_ThePodAsksAgain()
    {
        var pool = new PodAddressPool("127.1.0.0/16");
        var first = pool.Allocate("a");

        Assert.Equal(first, pool.Allocate("a"));
        Assert.Equal(1, pool.InUse);
    }

    [Fact]
    public void Release_Should_FreeTheAddressWithoutReusingItAtOnce_When_ThePodEnds()
    {
        var pool = new PodAddressPool("127.1.0.0/16");
        var a = pool.Allocate("a");

        pool.Release("a");
        var b = pool.Allocate("b");

        Assert.Equal(0 + 1, pool.InUse);
        Assert.NotEqual(a, b);
        Assert.Equal(a, pool.Allocate("c", preferred: a));
    }

    [Theory]
    [InlineData("free and in range", "127.1.9.9", "127.1.9.9")]
    [InlineData("another node's range", "127.2.0.5", "127.1.0.2")]
    [InlineData("the node's own address", "127.0.0.1", "127.1.0.2")]
    [InlineData("held by another pod", "127.1.0.1", "127.1.0.2")]
    public void Allocate_Should_KeepThePreviousAddressOnlyWhenFreeAndInRange_When_AnAdoptedPodHadOne(string name, string previous, string expected)
    {
        var pool = new PodAddressPool("127.1.0.0/16");
        pool.Allocate("other");

        Assert.Equal(expected, pool.Allocate("adopted", previous));
        Assert.NotEmpty(name);
    }

    [Fact]
    public void Allocate_Should_SayTheRangeIsExhausted_When_EveryAddressIsHeld()
    {
        var pool = new PodAddressPool("127.1.0.0/16");
        for (var i = 0; i < PodAddressPool.Capacity; i++)
        {
            pool.Allocate($"uid-{i}");
        }

        var error = Assert.Throws<InvalidOperationException>(() => pool.Allocate("one-more"));
        Assert.Contains("127.1.0.0/16 is exhausted", error.Message, StringComparison.Ordinal);
    }
}
