using K8sTraining.Chaos.Scenarios;

namespace K8sTraining.Chaos.Tests;

[Trait("Category", "Unit")]
public sealed class NodeLossKindOrderTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(19)]
    [InlineData(20261201)]
    public void KindOrder_Should_StartWithThePartitionAndHoldEveryKindOnce_When_AnySeedDrawsIt(int seed)
    {
        var order = NodeLossScenario.KindOrder(new Random(seed));

        Assert.Equal("partition", order[0]);
        Assert.Equal(["frozen", "partition", "rebooted", "vanished"], order.Order(StringComparer.Ordinal));
        Assert.Equal(order, NodeLossScenario.KindOrder(new Random(seed)));
    }
}
