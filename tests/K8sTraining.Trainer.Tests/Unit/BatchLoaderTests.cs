using K8sTraining.Training.Loop;
using K8sTraining.Training.Tasks;

namespace K8sTraining.Trainer.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class BatchLoaderTests
{
    [Theory]
    // name, workers, prefetch
    [InlineData("one worker, one ahead", 1, 1)]
    [InlineData("four workers, eight ahead", 4, 8)]
    [InlineData("sixteen workers, two ahead", 16, 2)]
    public void Next_Should_GiveTheSameBatches_When_TheWorkerCountOrPrefetchChanges(string name, int workers, int prefetch)
    {
        var data = FakeDataset.WithCounts(40, 37);
        var order = Enumerable.Range(0, data.Count).Reverse().ToArray();

        var expected = Read(data, order, 10, 0, 1, 1);
        var actual = Read(data, order, 10, 0, workers, prefetch);

        Assert.True(expected.SequenceEqual(actual), name);
    }

    [Fact]
    public void Next_Should_FillEachSampleInOrderWithItsOwnSeededContext_When_Training()
    {
        var data = FakeDataset.WithCounts(5, 5);
        int[] order = [9, 2, 4, 0, 7, 1, 3, 8, 6, 5];

        using var loader = new BatchLoader(data, order, batchSize: 4, firstStep: 0, epoch: 3, seed: 11, train: true, workers: 3, prefetch: 2);
        var batches = Enumerable.Range(0, loader.Steps).Select(_ => Take(loader)).ToList();

        Assert.Equal(new[] { 4, 4, 2 }, batches.Select(b => b.Count));
        var samples = batches.SelectMany(b => Enumerable.Range(0, b.Count).Select(k => (Input: b.Inputs.Skip(3 * k).Take(3).ToArray(), Label: b.Labels[k]))).ToList();
        for (var position = 0; position < order.Length; position++)
        {
            var index = order[position];
            var random = new SampleRandom(11, 3, index);
            Assert.Equal(new[] { index, (float)random.NextDouble(), 1f }, samples[position].Input);
            Assert.Equal(data.LabelOf(index), samples[position].Label);
        }
    }

    [Fact]
    public void Next_Should_StartAtTheGivenStep_When_AnEpochIsResumedMidWay()
    {
        var data = FakeDataset.WithCounts(30, 20);
        var order = Enumerable.Range(0, data.Count).Select(i => (i * 7) % 50).ToArray();

        var whole = Read(data, order, 8, 0, 2, 2);
        var resumed = Read(data, order, 8, 3, 2, 2);

        Assert.Equal(whole.Skip(3), resumed);
    }

    [Fact]
    public void Next_Should_FillWithoutAugmentation_When_Evaluating()
    {
        using var loader = new BatchLoader(FakeDataset.WithCounts(2, 2), null, 4, 0, 0, 1, train: false, 2, 1);

        var batch = loader.Next();

        Assert.Equal(new[] { 0f, 1f, 2f, 3f }, Enumerable.Range(0, 4).Select(k => batch.Inputs[3 * k]));
        Assert.All(Enumerable.Range(0, 4), k => Assert.Equal(0f, batch.Inputs[(3 * k) + 2]));
    }

    [Theory]
    [InlineData("one worker", 1)]
    [InlineData("eight workers", 8)]
    public void Next_Should_RethrowTheFirstBrokenSamplesError_When_ADataSetFails(string name, int workers)
    {
        var data = FakeDataset.WithCounts(20);
        data.Broken.UnionWith([13, 11, 17]);
        using var loader = new BatchLoader(data, null, 10, 0, 0, 1, train: true, workers, 2);

        loader.Return(loader.Next());
        var error = Assert.Throws<InvalidDataException>(loader.Next);

        Assert.True(error.Message == "sample 11 is broken", $"{name}: {error.Message}");
    }

    [Fact]
    public async Task Dispose_Should_Return_When_BatchesArePrefetchedAndNotTaken()
    {
        var loader = new BatchLoader(FakeDataset.WithCounts(1000), null, 10, 0, 0, 1, train: true, 2, 4);
        loader.Return(loader.Next());

        var dispose = Task.Run(loader.Dispose);

        Assert.Same(dispose, await Task.WhenAny(dispose, Task.Delay(TimeSpan.FromSeconds(30))));
    }

    private static List<string> Read(FakeDataset data, int[] order, int batchSize, int firstStep, int workers, int prefetch)
    {
        using var loader = new BatchLoader(data, order, batchSize, firstStep, epoch: 2, seed: 5, train: true, workers, prefetch);
        var batches = new List<string>();
        for (var step = firstStep; step < loader.Steps; step++)
        {
            var batch = Take(loader);
            batches.Add(string.Join(';', batch.Inputs.Take(batch.Count * 3)) + "|" + string.Join(';', batch.Labels.Take(batch.Count)));
        }
        return batches;
    }

    /// <summary>The next batch, copied, and its buffers returned at once (so a later batch may reuse them).</summary>
    private static (int Count, float[] Inputs, long[] Labels) Take(BatchLoader loader)
    {
        var batch = loader.Next();
        var copy = (batch.Count, batch.Inputs.ToArray(), batch.Labels.ToArray());
        loader.Return(batch);
        return copy;
    }
}
