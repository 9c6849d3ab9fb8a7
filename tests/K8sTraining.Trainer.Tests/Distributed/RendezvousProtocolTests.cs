using System.Buffers.Binary;
using K8sTraining.Training.Distributed;

namespace K8sTraining.Trainer.Tests.Distributed;

/// <summary>The rendezvous wire format: a request's timeout goes in whole milliseconds, never shorter than asked.</summary>
[Trait("Category", "Unit")]
public sealed class RendezvousProtocolTests
{
    [Theory]
    [InlineData(300, 300)]
    [InlineData(299.99, 300)] // CI: a wait of 299.99 ms left went as 299 ms and timed out 14 us before its 300 ms
    [InlineData(40.1, 41)]
    [InlineData(0, 0)]
    public void Request_Should_CarryTheTimeoutRoundedUpToAMillisecond_When_ItHasAFraction(double milliseconds, int sent)
    {
        var frame = RendezvousProtocol.Request(RendezvousProtocol.Wait, TimeSpan.FromMilliseconds(milliseconds), "k", []);

        Assert.Equal(sent, BinaryPrimitives.ReadInt32LittleEndian(frame.AsSpan(1)));
    }
}
