using System.Text.Json;
using K8sTraining.Training.Checkpoints;
using K8sTraining.Training.Options;
using K8sTraining.Trainer.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace K8sTraining.Trainer.Tests.Unit;

[Trait("Category", "Unit")]
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

    // The case: 130/140/150 on disk, 150 unusable, the run resumed from 140 and commits 143 with keep 1.
    [Theory]
    [InlineData("corrupt newer checkpoint")]
    [InlineData("empty step directory")]
    [InlineData("manifest naming another step")]
    [InlineData("unreadable manifest")]
    public void Write_Should_KeepJustCommittedAndMoveInvalidAside_When_NewerStepDirectoryIsInvalid(string damage)
    {
        var store = new LocalCheckpointStore(_root, 1, NullLogger.Instance);
        store.Write(Snapshot(130, 1));
        store.Write(Snapshot(140, 1));
        var broken = Path.Combine(_root, "step-000000000150");
        Directory.CreateDirectory(broken);
        switch (damage)
        {
            case "corrupt newer checkpoint":
                CopyCheckpoint(Path.Combine(_root, "step-000000000140"), broken, step: 150);
                File.WriteAllBytes(Path.Combine(broken, "model.bin"), "abd"u8.ToArray());
                break;
            case "manifest naming another step":
                CopyCheckpoint(Path.Combine(_root, "step-000000000140"), broken, step: 140);
                break;
            case "unreadable manifest":
                File.WriteAllText(Path.Combine(broken, "manifest.json"), "{not json");
                break;
        }
        var fresh = new LocalCheckpointStore(_root, 1, NullLogger.Instance);
        Assert.Equal(140, fresh.FindNewestValid()?.Manifest.GlobalStep);

        var committed = fresh.Write(Snapshot(143, 1));

        Assert.Equal(["step-000000000143"], Directory.GetDirectories(_root, "step-*").Select(Path.GetFileName));
        Assert.Null(LocalCheckpointStore.Verify(committed.Directory, out _));
        Assert.Equal(143, fresh.FindNewestValid()?.Manifest.GlobalStep);
        Assert.True(Directory.Exists(Path.Combine(_root, LocalCheckpointStore.InvalidFolderName, "step-000000000150")), "the invalid directory is moved aside, not lost silently");
    }

    [Fact]
    public void Write_Should_CountOnlyValidCheckpoints_When_JunkStepDirectoriesAreNewer()
    {
        var store = new LocalCheckpointStore(_root, 2, NullLogger.Instance);
        store.Write(Snapshot(10, 1));
        store.Write(Snapshot(20, 1));
        Directory.CreateDirectory(Path.Combine(_root, "step-000000000900"));
        Directory.CreateDirectory(Path.Combine(_root, "step-000000000990"));

        store.Write(Snapshot(30, 1));

        Assert.Equal(["step-000000000020", "step-000000000030"], Directory.GetDirectories(_root, "step-*").Select(Path.GetFileName).Order());
    }

    [Fact]
    public void Write_Should_DeleteWhatWasMovedAside_When_RetainedCheckpointsHavePassedIt()
    {
        var store = new LocalCheckpointStore(_root, 1, NullLogger.Instance);
        store.Write(Snapshot(10, 1));
        Directory.CreateDirectory(Path.Combine(_root, "step-000000000015"));
        store.Write(Snapshot(12, 1));
        var aside = Path.Combine(_root, LocalCheckpointStore.InvalidFolderName, "step-000000000015");
        Assert.True(Directory.Exists(aside));

        store.Write(Snapshot(20, 1));

        Assert.False(Directory.Exists(aside), "a moved-aside directory older than every kept checkpoint is deleted");
        Assert.Equal(["step-000000000020"], Directory.GetDirectories(_root, "step-*").Select(Path.GetFileName));
    }

    [Fact]
    public void Write_Should_RemoveItsTemporaryDirectoryAndKeepEarlierCheckpoints_When_AFileCannotBeWritten()
    {
        var store = new LocalCheckpointStore(_root, 3, NullLogger.Instance);
        store.Write(Snapshot(10, 1));

        // A file name with a directory in it cannot be created in the temporary directory: the write fails midway.
        Assert.ThrowsAny<IOException>(() => store.Write(new CheckpointSnapshot(20, 1, 2, [("model.bin", "abc"u8.ToArray()), ("no-such-dir/x.bin", [1])])));

        Assert.Equal(["step-000000000010"], Directory.GetDirectories(_root).Select(Path.GetFileName));
        Assert.Equal(10, store.FindNewestValid()?.Manifest.GlobalStep);
    }

    [Fact]
    public void EnsureUsable_Should_ThrowInvalidInputNamingTheFix_When_CheckpointDirectoryIsAFile()
    {
        Directory.CreateDirectory(_root);
        var file = Path.Combine(_root, "checkpoints");
        File.WriteAllText(file, "not a directory");

        var error = Assert.Throws<InvalidInputException>(() => LocalCheckpointStore.EnsureUsable(file));

        Assert.Contains($"--checkpoint-dir {file} is a file", error.Message, StringComparison.Ordinal);
        Assert.Contains("writable directory", error.Message, StringComparison.Ordinal);
    }

    [ReadOnlyDirectoryFact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void EnsureUsable_Should_ThrowInvalidInputNamingTheFix_When_CheckpointDirectoryIsReadOnly()
    {
        using var readOnly = ReadOnlyDirectory.Create();
        var dir = Path.Combine(readOnly.Path, "checkpoints");

        var error = Assert.Throws<InvalidInputException>(() => LocalCheckpointStore.EnsureUsable(readOnly.Path));

        Assert.Contains($"--checkpoint-dir {readOnly.Path}", error.Message, StringComparison.Ordinal);
        Assert.Contains("writable", error.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidInputException>(() => LocalCheckpointStore.EnsureUsable(dir));
    }

    private static void CopyCheckpoint(string from, string to, long step)
    {
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)), overwrite: true);
        }
        var manifest = CheckpointManifest.Parse(File.ReadAllText(Path.Combine(to, "manifest.json")))!;
        File.WriteAllText(Path.Combine(to, "manifest.json"), (manifest with { GlobalStep = step }).ToJson());
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
