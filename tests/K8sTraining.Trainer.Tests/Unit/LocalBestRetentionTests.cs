using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;
using Microsoft.Extensions.Logging.Abstractions;

namespace K8sTraining.Trainer.Tests.Unit;

/// <summary>Local retention keeps the best checkpoint named by the newest manifest, however small --keep-checkpoints is.</summary>
[Trait("Category", "Unit")]
public sealed class LocalBestRetentionTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "k8st-best-" + Guid.NewGuid().ToString("N")[..8]);

    // Each write: "step" or "step:best" (the best as of that checkpoint). Expected: the step directories left.
    [Theory]
    [InlineData("no best: only the newest K", 1, "10 20 30", "30")]
    [InlineData("best older than the window, keep 1", 1, "10:10 20:10 30:10", "10 30")]
    [InlineData("best moves: the old best goes", 1, "10:10 20:20 30:20", "20 30")]
    [InlineData("the newest is the best", 1, "10:10 20:20", "20")]
    [InlineData("best inside the window", 2, "10 20:20 30:20", "20 30")]
    [InlineData("best older than keep 2", 2, "10:10 20:10 30:10 40:10", "10 30 40")]
    [InlineData("the best of an earlier manifest is not kept once a newer best replaces it", 1, "10:10 20:10 30:30 40:30", "30 40")]
    public void Write_Should_KeepTheBestNamedByTheNewestManifest_When_RetentionDropsOlderCheckpoints(string name, int keep, string writes, string expected)
    {
        var store = new LocalCheckpointStore(_root, keep, NullLogger.Instance);
        foreach (var write in writes.Split(' '))
        {
            var parts = write.Split(':');
            var best = parts.Length > 1 ? Best(long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture)) : null;
            store.Write(Snapshot(long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), best));
        }

        Assert.True(
            expected.Split(' ').Select(s => CheckpointLayout.DirectoryName(long.Parse(s, System.Globalization.CultureInfo.InvariantCulture))).SequenceEqual(Directory.GetDirectories(_root).Select(Path.GetFileName).Order(StringComparer.Ordinal)),
            $"{name}: left {string.Join(", ", Directory.GetDirectories(_root).Select(Path.GetFileName).Order(StringComparer.Ordinal))}");
    }

    [Fact]
    public void Write_Should_KeepTheBest_When_ANewProcessOpensTheStoreAndCommitsWithKeepOne()
    {
        var first = new LocalCheckpointStore(_root, 3, NullLogger.Instance);
        first.Write(Snapshot(10, Best(10)));
        first.Write(Snapshot(20, Best(10)));
        first.Write(Snapshot(30, Best(10)));

        // A resumed attempt, with nothing verified in this process yet: the best comes from the manifest it commits.
        var second = new LocalCheckpointStore(_root, 1, NullLogger.Instance);
        var committed = second.Write(Snapshot(40, Best(10)));

        Assert.Equal(Best(10), committed.Manifest.Best);
        Assert.Equal(["step-000000000010", "step-000000000040"], Directory.GetDirectories(_root).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Null(LocalCheckpointStore.Verify(Path.Combine(_root, "step-000000000010"), out _));
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private static BestCheckpoint Best(long step) => new(step, (int)(step / 10), BestMetricNames.ValidationAccuracy, 0.5 + (step / 1000.0), BestWeightsNames.Raw);

    private static CheckpointSnapshot Snapshot(long step, BestCheckpoint? best) =>
        new(step, (int)(step / 10), 0, [("model.bin", BitConverter.GetBytes(step))]) { Best = best };
}
