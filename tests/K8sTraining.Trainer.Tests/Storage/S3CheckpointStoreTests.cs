using System.Text;
using K8sTraining.Training.Storage;
using Microsoft.Extensions.Logging;

namespace K8sTraining.Trainer.Tests.Storage;

/// <summary>The S3 store against a real s3rver on loopback: commit, verify, restore, retention, outages.</summary>
[Trait("Category", "Integration")]
public sealed class S3CheckpointStoreTests(S3rverFixture fixture) : IClassFixture<S3rverFixture>, IDisposable
{
    private readonly List<string> temporary = [];

    internal static (IRemoteCheckpointStore Store, ListLoggerProvider Logs) CreateStore(S3rverServer server, string prefix, int keep = 3, Dictionary<string, string?>? environment = null)
    {
        var logs = new ListLoggerProvider();
        var factory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        var env = environment ?? server.Environment();
        return (RemoteCheckpointStoreFactory.Create($"s3://{S3rverServer.Bucket}/{prefix}", keep, n => env.GetValueOrDefault(n), factory), logs);
    }

    private string Temp()
    {
        var dir = LocalCheckpoints.TempDirectory();
        temporary.Add(dir);
        return dir;
    }

    private static string Prefix() => "jobs/" + Guid.NewGuid().ToString("N")[..12];

    [Fact]
    public async Task FlushAsync_Should_CommitAndRestoreByteEqualFiles_When_CheckpointHasSmallAndMultipartFiles()
    {
        var prefix = Prefix();
        var local = Temp();
        var files = new Dictionary<string, byte[]>
        {
            // 23 MiB + 5 bytes: five 5 MiB parts in parallel and a short last part; ranged GETs on the way back.
            ["model.bin"] = LocalCheckpoints.RandomBytes((23 << 20) + 5, 7),
            ["optimizer.bin"] = LocalCheckpoints.RandomBytes(4096, 8),
        };
        var dir = LocalCheckpoints.Write(local, 42, files);
        var (store, logs) = CreateStore(fixture.Server, prefix);
        await using (store)
        {
            await store.ValidateAsync(CancellationToken.None);
            store.Enqueue(dir);
            var result = await store.FlushAsync(TimeSpan.FromSeconds(60), CancellationToken.None);
            Assert.True(result.AllCommitted, logs.AllText);
            Assert.Equal(42, result.NewestCommittedGlobalStep);
            Assert.Equal($"s3://k8straining/{prefix}/step-000000000042", result.NewestCommittedUri);
            Assert.Equal(0, result.Backlog);
        }

        var fresh = Temp();
        var (reader, _) = CreateStore(fixture.Server, prefix);
        await using (reader)
        {
            await reader.ValidateAsync(CancellationToken.None);
            var restored = await reader.RestoreNewestAsync(fresh, -1, CancellationToken.None);
            Assert.Equal(42, restored);
        }
        var restoredDir = Path.Combine(fresh, "step-000000000042");
        foreach (var (name, bytes) in files)
        {
            Assert.Equal(bytes, await File.ReadAllBytesAsync(Path.Combine(restoredDir, name)));
        }
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(dir, "manifest.json")), await File.ReadAllBytesAsync(Path.Combine(restoredDir, "manifest.json")));
        Assert.Equal(["manifest.json", "model.bin", "optimizer.bin"], Directory.GetFiles(restoredDir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.DoesNotContain(Directory.GetDirectories(fresh), d => Path.GetFileName(d).StartsWith('.'));
    }

    [Fact]
    public async Task Enqueue_Should_UploadWhatWasQueued_When_LocalDirectoryIsDeletedRightAfter()
    {
        var prefix = Prefix();
        var local = Temp();
        var files = LocalCheckpoints.SmallCheckpoint(5);
        var dir = LocalCheckpoints.Write(local, 5, files);
        var (store, logs) = CreateStore(fixture.Server, prefix);
        await using (store)
        {
            store.Enqueue(dir);
            Directory.Delete(dir, recursive: true);
            var result = await store.FlushAsync(TimeSpan.FromSeconds(30), CancellationToken.None);
            Assert.True(result.AllCommitted, logs.AllText);
        }
        var fresh = Temp();
        var (reader, _) = CreateStore(fixture.Server, prefix);
        await using (reader)
        {
            Assert.Equal(5, await reader.RestoreNewestAsync(fresh, -1, CancellationToken.None));
        }
        Assert.Equal(files["model.bin"], await File.ReadAllBytesAsync(Path.Combine(fresh, "step-000000000005", "model.bin")));
        Assert.False(Directory.Exists(Path.Combine(local, ".remote-staging")) && Directory.EnumerateFileSystemEntries(Path.Combine(local, ".remote-staging")).Any(),
            "the staging folder is emptied once the upload is committed");
    }

    [Fact]
    public async Task RestoreNewestAsync_Should_UsePreviousCheckpointWithWarning_When_NewestObjectIsCorrupted()
    {
        var prefix = Prefix();
        var local = Temp();
        var (store, _) = CreateStore(fixture.Server, prefix);
        await using (store)
        {
            foreach (var step in new long[] { 10, 20 })
            {
                store.Enqueue(LocalCheckpoints.Write(local, step, LocalCheckpoints.SmallCheckpoint(step)));
                Assert.True((await store.FlushAsync(TimeSpan.FromSeconds(30), CancellationToken.None)).AllCommitted);
            }
        }

        // Same size, other bytes: only the checksum can tell.
        var garbage = Path.Combine(Temp(), "garbage");
        await File.WriteAllBytesAsync(garbage, LocalCheckpoints.RandomBytes(LocalCheckpoints.SmallCheckpoint(20)["model.bin"].Length, 999));
        using (var raw = new S3ObjectClient(S3StoreOptions.FromEnvironment($"s3://k8straining/{prefix}", 3, n => fixture.Server.Environment().GetValueOrDefault(n))))
        {
            await raw.PutFilePlainAsync($"{prefix}/step-000000000020/model.bin", garbage, CancellationToken.None);
        }

        var fresh = Temp();
        var (reader, logs) = CreateStore(fixture.Server, prefix);
        await using (reader)
        {
            Assert.Equal(10, await reader.RestoreNewestAsync(fresh, -1, CancellationToken.None));
        }
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("step-000000000020", StringComparison.Ordinal) && e.Message.Contains("does not verify", StringComparison.Ordinal));
        Assert.False(Directory.Exists(Path.Combine(fresh, "step-000000000020")));
        Assert.Equal(LocalCheckpoints.SmallCheckpoint(10)["model.bin"], await File.ReadAllBytesAsync(Path.Combine(fresh, "step-000000000010", "model.bin")));
    }

    [Fact]
    public async Task RestoreNewestAsync_Should_ReturnNull_When_LocalCheckpointIsAsNewAsRemote()
    {
        var prefix = Prefix();
        var local = Temp();
        var (store, _) = CreateStore(fixture.Server, prefix);
        await using (store)
        {
            store.Enqueue(LocalCheckpoints.Write(local, 7, LocalCheckpoints.SmallCheckpoint(7)));
            Assert.True((await store.FlushAsync(TimeSpan.FromSeconds(30), CancellationToken.None)).AllCommitted);
        }
        var (reader, _) = CreateStore(fixture.Server, prefix);
        await using (reader)
        {
            Assert.Null(await reader.RestoreNewestAsync(local, 7, CancellationToken.None));
        }
    }

    [Fact]
    public async Task RestoreNewestAsync_Should_ReturnNull_When_PrefixHoldsNoCheckpoint()
    {
        var (store, _) = CreateStore(fixture.Server, Prefix());
        await using (store)
        {
            await store.ValidateAsync(CancellationToken.None);
            Assert.Null(await store.RestoreNewestAsync(Temp(), -1, CancellationToken.None));
        }
    }

    [Fact]
    public async Task Commit_Should_KeepNewestKAndTheResumedCheckpoint_When_RetentionDeletesOldOnes()
    {
        var prefix = Prefix();
        var local = Temp();
        var (first, _) = CreateStore(fixture.Server, prefix, keep: 2);
        await using (first)
        {
            first.Enqueue(LocalCheckpoints.Write(local, 1, LocalCheckpoints.SmallCheckpoint(1)));
            Assert.True((await first.FlushAsync(TimeSpan.FromSeconds(30), CancellationToken.None)).AllCommitted);
        }

        // A new pod resumes from step 1, then commits four more with keep = 2.
        var resumedRoot = Temp();
        var (store, logs) = CreateStore(fixture.Server, prefix, keep: 2);
        await using (store)
        {
            Assert.Equal(1, await store.RestoreNewestAsync(resumedRoot, -1, CancellationToken.None));
            foreach (var step in new long[] { 2, 3, 4, 5 })
            {
                store.Enqueue(LocalCheckpoints.Write(resumedRoot, step, LocalCheckpoints.SmallCheckpoint(step)));
                Assert.True((await store.FlushAsync(TimeSpan.FromSeconds(30), CancellationToken.None)).AllCommitted, logs.AllText);
            }
        }

        using var raw = new S3ObjectClient(S3StoreOptions.FromEnvironment($"s3://k8straining/{prefix}", 2, n => fixture.Server.Environment().GetValueOrDefault(n)));
        var latest = RemoteCheckpointDocuments.ParseLatest(await raw.GetBytesAsync($"{prefix}/latest.json", CancellationToken.None));
        Assert.Equal("step-000000000005", latest.Checkpoint);
        Assert.Equal(5, latest.GlobalStep);
        Assert.Equal(["step-000000000005", "step-000000000004", "step-000000000001"], latest.Retained);
        foreach (var gone in new[] { 2, 3 })
        {
            Assert.Null(await raw.GetBytesAsync($"{prefix}/step-00000000000{gone}/manifest.json", CancellationToken.None));
            Assert.Null(await raw.GetBytesAsync($"{prefix}/step-00000000000{gone}/model.bin", CancellationToken.None));
        }
        foreach (var kept in new[] { 1, 4, 5 })
        {
            Assert.NotNull(await raw.GetBytesAsync($"{prefix}/step-00000000000{kept}/manifest.json", CancellationToken.None));
            Assert.NotNull(await raw.GetBytesAsync($"{prefix}/step-00000000000{kept}/model.bin", CancellationToken.None));
        }
    }

    // The local retention bug's remote twin: checkpoints that fail verification at restore must not be counted, or with
    // keep 1 the checkpoint just committed is deleted and latest.json names a corrupt one.
    [Fact]
    public async Task Commit_Should_KeepJustCommittedAndDropCheckpointsThatFailedRestore_When_NewerRemoteCheckpointsAreCorrupt()
    {
        var prefix = Prefix();
        var local = Temp();
        var (writer, _) = CreateStore(fixture.Server, prefix, keep: 10);
        await using (writer)
        {
            foreach (var step in new long[] { 10, 20, 30, 40 })
            {
                writer.Enqueue(LocalCheckpoints.Write(local, step, LocalCheckpoints.SmallCheckpoint(step)));
                Assert.True((await writer.FlushAsync(TimeSpan.FromSeconds(30), CancellationToken.None)).AllCommitted);
            }
        }
        using var raw = new S3ObjectClient(S3StoreOptions.FromEnvironment($"s3://k8straining/{prefix}", 1, n => fixture.Server.Environment().GetValueOrDefault(n)));
        foreach (var step in new long[] { 30, 40 })
        {
            var garbage = Path.Combine(Temp(), "garbage");
            await File.WriteAllBytesAsync(garbage, LocalCheckpoints.RandomBytes(LocalCheckpoints.SmallCheckpoint(step)["model.bin"].Length, 4711));
            await raw.PutFilePlainAsync($"{prefix}/step-{step:D12}/model.bin", garbage, CancellationToken.None);
        }

        var resumedRoot = Temp();
        var (store, logs) = CreateStore(fixture.Server, prefix, keep: 1);
        await using (store)
        {
            Assert.Equal(20, await store.RestoreNewestAsync(resumedRoot, -1, CancellationToken.None));
            store.Enqueue(LocalCheckpoints.Write(resumedRoot, 23, LocalCheckpoints.SmallCheckpoint(23)));
            var result = await store.FlushAsync(TimeSpan.FromSeconds(30), CancellationToken.None);
            Assert.True(result.AllCommitted, logs.AllText);
            Assert.Equal(23, store.NewestCommittedGlobalStep);
        }

        var latest = RemoteCheckpointDocuments.ParseLatest(await raw.GetBytesAsync($"{prefix}/latest.json", CancellationToken.None));
        Assert.Equal("step-000000000023", latest.Checkpoint);
        Assert.Equal(["step-000000000023", "step-000000000020"], latest.Retained);
        Assert.NotNull(await raw.GetBytesAsync($"{prefix}/step-000000000023/model.bin", CancellationToken.None));
        Assert.Null(await raw.GetBytesAsync($"{prefix}/step-000000000010/manifest.json", CancellationToken.None));
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("step-000000000040", StringComparison.Ordinal) && e.Message.Contains("did not verify", StringComparison.Ordinal));

        var (reader, _) = CreateStore(fixture.Server, prefix);
        await using (reader)
        {
            Assert.Equal(23, await reader.RestoreNewestAsync(Temp(), -1, CancellationToken.None));
        }
    }

    [Fact]
    public async Task NewestCommittedGlobalStep_Should_BeTheRestoredCheckpoint_When_NothingWasUploadedYet()
    {
        var prefix = Prefix();
        var (writer, _) = CreateStore(fixture.Server, prefix);
        await using (writer)
        {
            writer.Enqueue(LocalCheckpoints.Write(Temp(), 7, LocalCheckpoints.SmallCheckpoint(7)));
            Assert.True((await writer.FlushAsync(TimeSpan.FromSeconds(30), CancellationToken.None)).AllCommitted);
        }

        var (fresh, _) = CreateStore(fixture.Server, prefix);
        await using (fresh)
        {
            Assert.Null(fresh.NewestCommittedGlobalStep);
            Assert.Equal(7, await fresh.RestoreNewestAsync(Temp(), -1, CancellationToken.None));
            Assert.Equal(7, fresh.NewestCommittedGlobalStep);
        }

        // Same node: the local copy is as new as the remote one, and latest.json lists it, so it is durable remotely.
        var sameNode = Temp();
        LocalCheckpoints.Write(sameNode, 7, LocalCheckpoints.SmallCheckpoint(7));
        var (replacement, _) = CreateStore(fixture.Server, prefix);
        await using (replacement)
        {
            Assert.Null(await replacement.RestoreNewestAsync(sameNode, 7, CancellationToken.None));
            Assert.Equal(7, replacement.NewestCommittedGlobalStep);
        }
    }

    [Fact]
    public async Task FlushAsync_Should_ReportNotUploadedWithoutThrowing_When_NewestLocalCheckpointIsDamagedOrIncomplete()
    {
        var prefix = Prefix();
        var local = Temp();
        var (store, logs) = CreateStore(fixture.Server, prefix);
        await using (store)
        {
            store.Enqueue(LocalCheckpoints.Write(local, 1, LocalCheckpoints.SmallCheckpoint(1)));
            Assert.True((await store.FlushAsync(TimeSpan.FromSeconds(30), CancellationToken.None)).AllCommitted);

            // Same size, other bytes: the upload refuses it instead of storing a checkpoint that cannot verify.
            var damaged = LocalCheckpoints.Write(local, 2, LocalCheckpoints.SmallCheckpoint(2));
            await File.WriteAllBytesAsync(Path.Combine(damaged, "model.bin"), LocalCheckpoints.RandomBytes(LocalCheckpoints.SmallCheckpoint(2)["model.bin"].Length, 4242));
            store.Enqueue(damaged);
            var result = await store.FlushAsync(TimeSpan.FromSeconds(30), CancellationToken.None);
            Assert.False(result.AllCommitted);
            Assert.Equal(1, result.NewestCommittedGlobalStep);
            Assert.Equal(0, result.Backlog);
            Assert.Contains(logs.Entries, e => e.Level == LogLevel.Error && e.Message.Contains("step-000000000002", StringComparison.Ordinal));

            // A directory without its manifest is not a checkpoint: Enqueue must not throw into the training loop.
            var incomplete = Path.Combine(local, "step-000000000003");
            Directory.CreateDirectory(incomplete);
            store.Enqueue(incomplete);
            Assert.False((await store.FlushAsync(TimeSpan.FromSeconds(5), CancellationToken.None)).AllCommitted);

            store.Enqueue(LocalCheckpoints.Write(local, 4, LocalCheckpoints.SmallCheckpoint(4)));
            var recovered = await store.FlushAsync(TimeSpan.FromSeconds(30), CancellationToken.None);
            Assert.True(recovered.AllCommitted, logs.AllText);
            Assert.Equal(4, recovered.NewestCommittedGlobalStep);
        }
    }

    public void Dispose()
    {
        foreach (var dir in temporary)
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
