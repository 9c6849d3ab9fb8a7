using System.Security.Cryptography;
using K8sTraining.CheckpointSync.Tests.Support;
using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;

namespace K8sTraining.CheckpointSync.Tests.Unit;

/// <summary>The manifest the store builds for a directory written by a trainer that knows nothing of manifests.</summary>
[Trait("Category", "Unit")]
public sealed class CheckpointDescribeTests : IDisposable
{
    private readonly string root = StepDirectory.Scratch();

    [Fact]
    public void Describe_Should_ListEveryFileWithSizeAndSha256InOrdinalOrder_When_TheDirectoryHoldsFiles()
    {
        var dir = StepDirectory.Write(root, 8, 1, 2, size: 1000);

        var manifest = CheckpointManifest.Describe(dir, 8, 1, 2);

        Assert.Equal((8L, 1, 2, CheckpointManifest.CurrentFormatVersion), (manifest.GlobalStep, manifest.Epoch, manifest.StepInEpoch, manifest.FormatVersion));
        Assert.Equal(["model.pt", "optimizer.pt", CheckpointLayout.StateFileName], manifest.Files.Select(f => f.Name));
        foreach (var f in manifest.Files)
        {
            var bytes = File.ReadAllBytes(Path.Combine(dir, f.Name));
            Assert.Equal((bytes.LongLength, Convert.ToHexStringLower(SHA256.HashData(bytes))), (f.Size, f.Sha256));
        }
        // What goes up last is a manifest the restore path accepts.
        Assert.Equal(manifest.Files, CheckpointManifest.ParseVerified(System.Text.Encoding.UTF8.GetBytes(manifest.ToJson())).Files);
    }

    [Theory]
    [InlineData("a subdirectory", "sub/x.bin", "subdirectory")]
    [InlineData("a manifest of its own", "manifest.json", "reserved")]
    [InlineData("no file", null, "no file")]
    public void Describe_Should_RefuseWithTheReason_When_TheDirectoryCannotBeACheckpoint(string because, string? entry, string expected)
    {
        var dir = Path.Combine(root, CheckpointLayout.DirectoryName(9));
        Directory.CreateDirectory(dir);
        if (entry is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(dir, entry))!);
            File.WriteAllBytes(Path.Combine(dir, entry), [1]);
        }

        var error = Assert.Throws<InvalidDataException>(() => CheckpointManifest.Describe(dir, 9, 0, 9));

        Assert.True(error.Message.Contains(expected, StringComparison.Ordinal), $"{because}: {error.Message}");
    }

    public void Dispose() => Directory.Delete(root, recursive: true);
}
