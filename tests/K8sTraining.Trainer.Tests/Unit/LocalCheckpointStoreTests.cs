using System.Text.Json;
using K8sTraining.Trainer.Checkpoints;
using Microsoft.Extensions.Logging.Abstractions;

namespace K8sTraining.Trainer.Tests.Unit;

public sealed class LocalCheckpointStoreTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "k8st-store-" + Guid.NewGuid().ToString("N")[..8]);

    [Fact]
    public void Write_Should_LayOutStepDirectoryWithManifestOfSizesAndHashes_When_Committed()
    {
        var store = new LocalCheckpointStore(_root, 3, NullLogger.Instance);
        var committed = store.Write(Snapshot(42, 1));

        Assert.Equal(Path.Combine(_root, "step-000000000042"), committed.Directory);
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(committed.Directory, "manifest.json")));
        var root = manifest.RootElement;
        Assert.Equal(1, root.GetProperty("formatVersion").GetInt32());
        Assert.Equal(42, root.GetProperty("globalStep").GetInt64());
        Assert.Equal(1, root.GetProperty("epoch").GetInt32());
        Assert.Equal(2, root.GetProperty("stepInEpoch").GetInt32());
        Assert.True(root.TryGetProperty("createdAt", out _));
        var file = root.GetProperty("files")[0];
        Assert.Equal("model.bin", file.GetProperty("name").GetString());
        Assert.Equal(3, file.GetProperty("size").GetInt64());
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", file.GetProperty("sha256").GetString());
    }

    [Fact]
    public void Write_Should_KeepOnlyNewestK_When_MoreAreCommitted()
    {
        var store = new LocalCheckpointStore(_root, 2, NullLogger.Instance);
        foreach (var step in new long[] { 5, 10, 15, 20 })
        {
            store.Write(Snapshot(step, 1));
        }
        Assert.Equal(["step-000000000015", "step-000000000020"], Directory.GetDirectories(_root).Select(Path.GetFileName).Order());
    }

    [Theory]
    [InlineData("manifest missing")]
    [InlineData("file truncated")]
    [InlineData("manifest garbage")]
    public void FindNewestValid_Should_FallBackToPrevious_When_NewestIsIncomplete(string damage)
    {
        var store = new LocalCheckpointStore(_root, 5, NullLogger.Instance);
        store.Write(Snapshot(10, 1));
        var newest = store.Write(Snapshot(20, 2));
        switch (damage)
        {
            case "manifest missing":
                File.Delete(Path.Combine(newest.Directory, "manifest.json"));
                break;
            case "file truncated":
                File.WriteAllBytes(Path.Combine(newest.Directory, "model.bin"), [1]);
                break;
            default:
                File.WriteAllText(Path.Combine(newest.Directory, "manifest.json"), "{not json");
                break;
        }
        Assert.Equal(10, store.FindNewestValid()?.Manifest.GlobalStep);
    }

    [Fact]
    public void RemoveIncompleteWrites_Should_DeleteTemporaryDirectories_When_AWriteWasInterrupted()
    {
        var store = new LocalCheckpointStore(_root, 5, NullLogger.Instance);
        store.Write(Snapshot(10, 1));
        Directory.CreateDirectory(Path.Combine(_root, "step-000000000020.tmp-abcdef12"));
        store.RemoveIncompleteWrites();
        Assert.Equal(["step-000000000010"], Directory.GetDirectories(_root).Select(Path.GetFileName));
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private static CheckpointSnapshot Snapshot(long step, int epoch) => new(step, epoch, 2, [("model.bin", "abc"u8.ToArray())]);
}
