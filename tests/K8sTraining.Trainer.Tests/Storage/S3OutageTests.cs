using K8sTraining.Training.Storage;
using Microsoft.Extensions.Logging;

namespace K8sTraining.Trainer.Tests.Storage;

/// <summary>Storage going away and coming back: each test owns its s3rver, so it can stop and restart it.</summary>
[Trait("Category", "Integration")]
public sealed class S3OutageTests : IAsyncLifetime
{
    private S3rverServer server = null!;
    private string local = null!;

    public async Task InitializeAsync()
    {
        server = await S3rverServer.StartAsync();
        local = LocalCheckpoints.TempDirectory();
    }

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        Directory.Delete(local, recursive: true);
    }

    [Fact]
    public async Task Enqueue_Should_RetryWithBacklogAndCommitNewest_When_ServerIsStoppedAndRestarted()
    {
        var (store, logs) = S3CheckpointStoreTests.CreateStore(server, "outage", keep: 3);
        await using (store)
        {
            await store.ValidateAsync(CancellationToken.None);
            store.Enqueue(LocalCheckpoints.Write(local, 1, LocalCheckpoints.SmallCheckpoint(1)));
            Assert.True((await store.FlushAsync(TimeSpan.FromSeconds(30), CancellationToken.None)).AllCommitted);

            await server.StopAsync();
            foreach (var step in new long[] { 2, 3, 4 })
            {
                // Enqueue never waits on the network: training goes on while storage is down.
                var started = DateTime.UtcNow;
                store.Enqueue(LocalCheckpoints.Write(local, step, LocalCheckpoints.SmallCheckpoint(step)));
                Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(1));
            }
            Assert.True(store.Backlog >= 1);
            await Eventually.TrueAsync(
                () => logs.Entries.Any(e => e.Level == LogLevel.Warning && e.Message.Contains("failed", StringComparison.Ordinal) && e.Message.Contains("backlog", StringComparison.Ordinal)),
                TimeSpan.FromSeconds(20), "a failed upload is logged with the backlog");

            await server.StartAgainAsync();
            var result = await store.FlushAsync(TimeSpan.FromSeconds(30), CancellationToken.None);
            Assert.True(result.AllCommitted, logs.AllText);
            Assert.Equal(4, result.NewestCommittedGlobalStep);
            Assert.Equal(0, store.Backlog);
        }

        var fresh = LocalCheckpoints.TempDirectory();
        try
        {
            var (reader, _) = S3CheckpointStoreTests.CreateStore(server, "outage");
            await using (reader)
            {
                Assert.Equal(4, await reader.RestoreNewestAsync(fresh, -1, CancellationToken.None));
            }
            Assert.Equal(LocalCheckpoints.SmallCheckpoint(4)["model.bin"], await File.ReadAllBytesAsync(Path.Combine(fresh, "step-000000000004", "model.bin")));
        }
        finally
        {
            Directory.Delete(fresh, recursive: true);
        }
    }

    [Fact]
    public async Task FlushAsync_Should_ReportNotCommittedAndKeepLocalCheckpoint_When_StorageIsDown()
    {
        var (store, _) = S3CheckpointStoreTests.CreateStore(server, "down", keep: 3);
        await using (store)
        {
            await store.ValidateAsync(CancellationToken.None);
            await server.StopAsync();
            var dir = LocalCheckpoints.Write(local, 9, LocalCheckpoints.SmallCheckpoint(9));
            store.Enqueue(dir);
            var started = DateTime.UtcNow;
            var result = await store.FlushAsync(TimeSpan.FromSeconds(1.5), CancellationToken.None);
            var waited = DateTime.UtcNow - started;
            Assert.False(result.AllCommitted);
            Assert.Null(result.NewestCommittedUri);
            Assert.Equal(1, result.Backlog);
            Assert.InRange(waited, TimeSpan.FromSeconds(1.4), TimeSpan.FromSeconds(5));
            Assert.True(File.Exists(Path.Combine(dir, "manifest.json")), "the local checkpoint stays");
        }
    }

    [Fact]
    public async Task ValidateAsync_Should_ThrowUnavailableAfterBoundedRetry_When_EndpointIsUnreachable()
    {
        await server.StopAsync();
        var env = server.Environment();
        env["CHECKPOINT_S3_STARTUP_TIMEOUT_SECONDS"] = "1.5";
        var (store, logs) = S3CheckpointStoreTests.CreateStore(server, "unreachable", environment: env);
        await using (store)
        {
            var started = DateTime.UtcNow;
            var error = await Assert.ThrowsAsync<RemoteStoreUnavailableException>(() => store.ValidateAsync(CancellationToken.None));
            var waited = DateTime.UtcNow - started;
            Assert.InRange(waited, TimeSpan.FromSeconds(1.4), TimeSpan.FromSeconds(10));
            Assert.Contains(server.EndpointUrl, error.Message, StringComparison.Ordinal);
            Assert.Contains("unreachable", error.Message, StringComparison.Ordinal);
            Assert.True(logs.Entries.Count(e => e.Level == LogLevel.Warning) >= 2, "each retry is logged: " + logs.AllText);
        }
    }

    [Fact]
    public async Task ValidateAsync_Should_Succeed_When_StorageComesBackWithinStartupTimeout()
    {
        await server.StopAsync();
        var env = server.Environment();
        env["CHECKPOINT_S3_STARTUP_TIMEOUT_SECONDS"] = "30";
        var (store, logs) = S3CheckpointStoreTests.CreateStore(server, "late", environment: env);
        await using (store)
        {
            var validate = store.ValidateAsync(CancellationToken.None);
            await Eventually.TrueAsync(() => logs.Entries.Any(e => e.Level == LogLevel.Warning), TimeSpan.FromSeconds(10), "the first failed attempt is logged");
            Assert.False(validate.IsCompleted);
            await server.StartAgainAsync();
            await validate;
        }
    }
}
