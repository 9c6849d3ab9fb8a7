using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;
using K8sTraining.Training.Options;
using Microsoft.Extensions.Logging.Abstractions;

namespace K8sTraining.Trainer.Tests.Unit;

/// <summary>--checkpoint best|latest|step-N in a local checkpoint directory.</summary>
[Trait("Category", "Unit")]
public sealed class CheckpointSelectorTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "k8st-select-" + Guid.NewGuid().ToString("N")[..8]);

    [Theory]
    [InlineData("best", "best", null)]
    [InlineData("latest", "latest", null)]
    [InlineData("step-N unpadded", "step-1200", 1200L)]
    [InlineData("step-N padded", "step-000000001200", 1200L)]
    [InlineData("any case, spaces around", " Best ", null)]
    public void Parse_Should_ReadTheSelector_When_ItIsBestLatestOrStepN(string name, string text, long? step)
    {
        var selection = CheckpointSelection.Parse(text);

        Assert.True(step == selection.Step, name);
        Assert.Equal(text.Trim().Equals("best", StringComparison.OrdinalIgnoreCase), selection.IsBest);
    }

    [Theory]
    [InlineData("")]
    [InlineData("newest")]
    [InlineData("step-")]
    [InlineData("step--5")]
    [InlineData("12")]
    public void Parse_Should_ThrowNamingWhatIsAllowed_When_TheSelectorIsNotOne(string text)
    {
        var error = Assert.Throws<InvalidInputException>(() => CheckpointSelection.Parse(text));

        Assert.Contains("best", error.Message, StringComparison.Ordinal);
        Assert.Contains("latest", error.Message, StringComparison.Ordinal);
        Assert.Contains("step-N", error.Message, StringComparison.Ordinal);
    }

    // Written: 10 (best 10), 20 (best 10), 30 (best 10), keep 1: on disk 10 and 30.
    [Theory]
    [InlineData("best is the one the newest manifest names", "best", 10L)]
    [InlineData("latest is the newest", "latest", 30L)]
    [InlineData("step-N by its step", "step-30", 30L)]
    [InlineData("step-N of the kept best", "step-10", 10L)]
    public async Task ResolveAsync_Should_FindTheSelectedCheckpoint_When_TheSourceIsALocalDirectory(string name, string selector, long expected)
    {
        WriteRun();

        var found = await CheckpointSelector.ResolveAsync(_root, selector, Path.Combine(_root, "scratch"), CancellationToken.None);

        Assert.True(expected == found.Manifest.GlobalStep, name);
        Assert.Equal(Path.Combine(_root, CheckpointLayout.DirectoryName(expected)), found.Directory);
    }

    [Fact]
    public async Task ResolveAsync_Should_SkipADamagedNewest_When_LatestIsAsked()
    {
        WriteRun();
        File.WriteAllBytes(Path.Combine(_root, CheckpointLayout.DirectoryName(30), "model.bin"), [1]);

        var found = await CheckpointSelector.ResolveAsync(_root, "latest", _root, CancellationToken.None);

        Assert.Equal(10, found.Manifest.GlobalStep);
    }

    [Theory]
    [InlineData("a step retention deleted", "step-20", "step-000000000020")]
    [InlineData("a directory that does not exist", "latest", "does not exist")]
    public async Task ResolveAsync_Should_ThrowInvalidInputSayingWhatIsThere_When_NothingMatches(string name, string selector, string expected)
    {
        WriteRun();
        var source = name.Contains("not exist", StringComparison.Ordinal) ? Path.Combine(_root, "nope") : _root;

        var error = await Assert.ThrowsAsync<InvalidInputException>(() => CheckpointSelector.ResolveAsync(source, selector, _root, CancellationToken.None));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ResolveAsync_Should_SayThereIsNoBest_When_TheRunKeptNone()
    {
        new LocalCheckpointStore(_root, 1, NullLogger.Instance).Write(Snapshot(10, null));

        var error = await Assert.ThrowsAsync<InvalidInputException>(() => CheckpointSelector.ResolveAsync(_root, "best", _root, CancellationToken.None));

        Assert.Contains("No best checkpoint", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ResolveAsync_Should_GiveTheNewest_When_TheRunKeptNoBestAndBestMayFallBackToLatest()
    {
        var store = new LocalCheckpointStore(_root, 2, NullLogger.Instance);
        store.Write(Snapshot(10, null));
        store.Write(Snapshot(20, null));

        var found = await CheckpointSelector.ResolveAsync(_root, CheckpointSelection.Best.OrLatestWhenNoBest(), _root, _ => null, NullLogger.Instance, CancellationToken.None);

        Assert.Equal(20, found.Manifest.GlobalStep);
    }

    [Fact]
    public async Task ResolveAsync_Should_StillGiveTheBest_When_BestMayFallBackToLatestButTheRunKeptOne()
    {
        WriteRun();

        var found = await CheckpointSelector.ResolveAsync(_root, CheckpointSelection.Best.OrLatestWhenNoBest(), _root, _ => null, NullLogger.Instance, CancellationToken.None);

        Assert.Equal(10, found.Manifest.GlobalStep);
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private void WriteRun()
    {
        var store = new LocalCheckpointStore(_root, 1, NullLogger.Instance);
        foreach (var step in new long[] { 10, 20, 30 })
        {
            store.Write(Snapshot(step, new BestCheckpoint(10, 1, BestMetricNames.ValidationAccuracy, 0.9, BestWeightsNames.Raw)));
        }
    }

    private static CheckpointSnapshot Snapshot(long step, BestCheckpoint? best) => new(step, 1, 0, [("model.bin", BitConverter.GetBytes(step))]) { Best = best };
}
