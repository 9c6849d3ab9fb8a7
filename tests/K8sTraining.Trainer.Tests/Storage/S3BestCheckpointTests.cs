using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;
using K8sTraining.Training.Options;
using K8sTraining.Training.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace K8sTraining.Trainer.Tests.Storage;

/// <summary>
/// The best checkpoint in the S3 store, against a real s3rver on loopback: latest.json names it, retention keeps it
/// however old, the upload queue never skips it, and a command fetches best, latest or step-N by its manifest.
/// </summary>
[Trait("Category", "Integration")]
public sealed class S3BestCheckpointTests(S3rverFixture fixture) : IClassFixture<S3rverFixture>, IDisposable
{
    private readonly List<string> temporary = [];

    private static BestCheckpoint Best(long step) => new(step, (int)(step / 10), BestMetricNames.ValidationAccuracy, 0.5 + (step / 1000.0), BestWeightsNames.Raw);

    [Fact]
    public async Task Commit_Should_NameTheBestInLatestJsonAndKeepIt_When_ItIsOlderThanTheNewestK()
    {
        var prefix = Prefix();
        await CommitOneByOneAsync(prefix, Snapshot(10, Best(10)), Snapshot(20, Best(10)), Snapshot(30, Best(10)));

        using var raw = RawClient(prefix);
        var latest = RemoteCheckpointDocuments.ParseLatest((await raw.GetBytesAsync($"{prefix}/{CheckpointLayout.LatestFileName}", CancellationToken.None))!);
        Assert.Equal(CheckpointLayout.DirectoryName(30), latest.Checkpoint);
        Assert.Equal([CheckpointLayout.DirectoryName(30), CheckpointLayout.DirectoryName(10)], latest.Retained);
        Assert.Equal(Best(10), latest.Best);
        Assert.NotNull(await raw.GetBytesAsync($"{prefix}/{CheckpointLayout.DirectoryName(10)}/{CheckpointLayout.ManifestFileName}", CancellationToken.None));
        Assert.Null(await raw.GetBytesAsync($"{prefix}/{CheckpointLayout.DirectoryName(20)}/{CheckpointLayout.ManifestFileName}", CancellationToken.None));
    }

    [Fact]
    public async Task Enqueue_Should_CommitTheBestBeforeNewerOnes_When_NewerCheckpointsQueueUpBehindIt()
    {
        var prefix = Prefix();
        var local = new LocalCheckpointStore(Temp(), 10, NullLogger.Instance);
        var (store, logs) = S3CheckpointStoreTests.CreateStore(fixture.Server, prefix, keep: 1);
        await using (store)
        {
            await store.ValidateAsync(CancellationToken.None);
            // 10 goes up at once; 20 (the best), 30 and 40 queue behind it (handed over within microseconds, while 10's
            // commit takes several requests), and the newest replaces the others but the best.
            var written = new[] { local.Write(Snapshot(10, null)), local.Write(Snapshot(20, Best(20))), local.Write(Snapshot(30, Best(20))), local.Write(Snapshot(40, Best(20))) };
            foreach (var checkpoint in written)
            {
                store.Enqueue(checkpoint.Directory);
            }
            Assert.True((await store.FlushAsync(TimeSpan.FromSeconds(60), CancellationToken.None)).AllCommitted, logs.AllText);
        }

        using var raw = RawClient(prefix);
        var latest = RemoteCheckpointDocuments.ParseLatest((await raw.GetBytesAsync($"{prefix}/{CheckpointLayout.LatestFileName}", CancellationToken.None))!);
        Assert.Equal([CheckpointLayout.DirectoryName(40), CheckpointLayout.DirectoryName(20)], latest.Retained);
        Assert.Equal(Best(20), latest.Best);
        Assert.NotNull(await raw.GetBytesAsync($"{prefix}/{CheckpointLayout.DirectoryName(20)}/{CheckpointLayout.ManifestFileName}", CancellationToken.None));
    }

    [Fact]
    public async Task ResolveAsync_Should_FetchBestLatestAndStepN_When_TheSourceIsAnS3Prefix()
    {
        var prefix = Prefix();
        await CommitOneByOneAsync(prefix, Snapshot(10, Best(10)), Snapshot(20, Best(10)), Snapshot(30, Best(10)));
        var uri = $"s3://{S3rverServer.Bucket}/{prefix}";
        var scratch = Temp();

        var best = await Resolve(uri, CheckpointSelectors.Best, scratch);
        var latest = await Resolve(uri, CheckpointSelectors.Latest, scratch);
        var byStep = await Resolve(uri, "step-30", scratch);

        Assert.Equal((10L, Path.Combine(scratch, CheckpointLayout.DirectoryName(10))), (best.Manifest.GlobalStep, best.Directory));
        Assert.Equal(Best(10), best.Manifest.Best);
        Assert.Equal(BitConverter.GetBytes(10L), await File.ReadAllBytesAsync(best.FilePath("model.bin")));
        Assert.Null(LocalCheckpointStore.Verify(best.Directory, out _));
        Assert.Equal(30, latest.Manifest.GlobalStep);
        Assert.Equal(latest.Directory, byStep.Directory);
        var gone = await Assert.ThrowsAsync<InvalidInputException>(() => Resolve(uri, "step-20", scratch));
        Assert.Contains(CheckpointLayout.DirectoryName(20), gone.Message, StringComparison.Ordinal);
        Assert.Contains(CheckpointLayout.DirectoryName(30), gone.Message, StringComparison.Ordinal);
        var empty = await Assert.ThrowsAsync<InvalidInputException>(() => Resolve($"s3://{S3rverServer.Bucket}/{Prefix()}", CheckpointSelectors.Best, scratch));
        Assert.Contains("No checkpoint at", empty.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<InvalidInputException>(() => Resolve(uri, "bestest", scratch));
    }

    [Fact]
    public async Task ResolveAsync_Should_SayThereIsNoBest_When_TheRunKeptNone()
    {
        var prefix = Prefix();
        await CommitOneByOneAsync(prefix, Snapshot(10, null));

        var error = await Assert.ThrowsAsync<InvalidInputException>(() => Resolve($"s3://{S3rverServer.Bucket}/{prefix}", CheckpointSelectors.Best, Temp()));

        Assert.Contains("No best checkpoint", error.Message, StringComparison.Ordinal);
        Assert.Contains(CheckpointSelectors.Latest, error.Message, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        foreach (var dir in temporary.Where(Directory.Exists))
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Writes each snapshot locally and commits it to <paramref name="prefix"/> (keep 1), waiting for each commit before the next.</summary>
    private async Task CommitOneByOneAsync(string prefix, params CheckpointSnapshot[] snapshots)
    {
        var local = new LocalCheckpointStore(Temp(), 10, NullLogger.Instance);
        var (store, logs) = S3CheckpointStoreTests.CreateStore(fixture.Server, prefix, keep: 1);
        await using (store)
        {
            await store.ValidateAsync(CancellationToken.None);
            foreach (var snapshot in snapshots)
            {
                store.Enqueue(local.Write(snapshot).Directory);
                Assert.True((await store.FlushAsync(TimeSpan.FromSeconds(60), CancellationToken.None)).AllCommitted, logs.AllText);
            }
        }
    }

    private Task<LocalCheckpoint> Resolve(string source, string selector, string scratch) =>
        CheckpointSelector.ResolveAsync(source, selector, scratch, n => fixture.Server.Environment().GetValueOrDefault(n), NullLogger.Instance, CancellationToken.None);

    private S3ObjectClient RawClient(string prefix) =>
        new(S3StoreOptions.FromEnvironment($"s3://{S3rverServer.Bucket}/{prefix}", 1, n => fixture.Server.Environment().GetValueOrDefault(n)));

    private string Temp()
    {
        var dir = LocalCheckpoints.TempDirectory();
        temporary.Add(dir);
        return dir;
    }

    private static string Prefix() => "jobs/" + Guid.NewGuid().ToString("N")[..12];

    private static CheckpointSnapshot Snapshot(long step, BestCheckpoint? best) =>
        new(step, (int)(step / 10), 0, [("model.bin", BitConverter.GetBytes(step)), ("optimizer.bin", LocalCheckpoints.RandomBytes(2048, (int)step))]) { Best = best };
}
