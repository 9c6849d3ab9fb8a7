using K8sTraining.NodeAgent.Containers;

namespace K8sTraining.LocalCluster.Tests.NodeAgent;

[Trait("Category", "Unit")]
public sealed class PathMapperTests
{
    private static readonly PathMapper Mapper = new([
        ("/data", "/node/pod/volumes/data"),
        ("/data/models/", "/node/pod/volumes/models"),
        ("/dev/termination-log", "/node/pod/containers/c/termination-log"),
    ]);

    [Theory]
    [InlineData("equal to a mount path", "/data", "/node/pod/volumes/data")]
    [InlineData("below a mount path", "/data/x/y.bin", "/node/pod/volumes/data/x/y.bin")]
    [InlineData("longest mount wins", "/data/models/m.bin", "/node/pod/volumes/models/m.bin")]
    [InlineData("termination message file", "/dev/termination-log", "/node/pod/containers/c/termination-log")]
    [InlineData("flag with equals", "--checkpoint-dir=/data/ckpt", "--checkpoint-dir=/node/pod/volumes/data/ckpt")]
    [InlineData("a different directory with the same prefix", "/database", "/database")]
    [InlineData("unmapped absolute path", "/bin/sh", "/bin/sh")]
    [InlineData("relative path", "data/x", "data/x")]
    [InlineData("plain word", "train", "train")]
    [InlineData("s3 uri", "s3://bucket/data", "s3://bucket/data")]
    public void Rewrite_Should_MapOnlyPathsUnderMounts_When_GivenCase(string name, string value, string expected)
    {
        var actual = Mapper.Rewrite(value);

        Assert.True(expected == actual, $"{name}: expected '{expected}', got '{actual}'");
    }
}
