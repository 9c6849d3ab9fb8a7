using K8sTraining.Training.Tasks;

namespace K8sTraining.Trainer.Tests.Unit;

/// <summary>
/// A data set whose sample i is (i, a random number of its SampleContext, Train as 0/1): what the loader filled, and
/// with which context, can be read back from the batch.
/// </summary>
internal sealed class FakeDataset(long[] labels, int classes = 3) : ITrainingDataset
{
    public static FakeDataset WithLabels(params int[] labels) => new(labels.Select(l => (long)l).ToArray(), labels.Length == 0 ? 1 : labels.Max() + 1);

    /// <summary>Labels 0, 1, ..., classes-1 repeated with the given count of each class.</summary>
    public static FakeDataset WithCounts(params int[] counts) =>
        new(counts.SelectMany((n, c) => Enumerable.Repeat((long)c, n)).ToArray(), counts.Length);

    public int Count => labels.Length;

    public IReadOnlyList<long> SampleShape { get; } = [3, 1, 1];

    public int Classes => classes;

    /// <summary>Samples whose Fill throws, naming them.</summary>
    public HashSet<int> Broken { get; } = [];

    public long LabelOf(int index) => labels[index];

    public void Fill(int index, Span<float> input, SampleContext context)
    {
        if (Broken.Contains(index))
        {
            throw new InvalidDataException($"sample {index} is broken");
        }
        var random = context.Random;
        input[0] = index;
        input[1] = (float)random.NextDouble();
        input[2] = context.Train ? 1 : 0;
    }
}
