using K8sTraining.Training.Tasks;

namespace K8sTraining.Trainer.Tests.Unit.Models;

/// <summary>A data set with a sample shape and a class count and nothing else: what ModelCatalog reads.</summary>
internal sealed class ShapedDataset(IReadOnlyList<long> sampleShape, int classes) : ITrainingDataset
{
    public int Count => 0;

    public IReadOnlyList<long> SampleShape => sampleShape;

    public int Classes => classes;

    public long LabelOf(int index) => throw new ArgumentOutOfRangeException(nameof(index));

    public void Fill(int index, Span<float> input, SampleContext context) => throw new ArgumentOutOfRangeException(nameof(index));
}
