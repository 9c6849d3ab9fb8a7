namespace K8sTraining.Training.Tasks;

/// <summary>
/// A labelled data set the training loop draws batches from by sample index. Every sample is a float tensor of
/// <see cref="SampleShape"/> and a class label in [0, <see cref="Classes"/>). The loop decides the order (a
/// permutation of (seed, epoch)); the data set only fills one sample, so the loader can fill a batch's samples on
/// several threads and ahead of the step.
/// </summary>
public interface ITrainingDataset
{
    /// <summary>How many samples there are.</summary>
    int Count { get; }

    /// <summary>The shape of one sample's input, for example [1, 28, 28] (channels, height, width).</summary>
    IReadOnlyList<long> SampleShape { get; }

    /// <summary>How many classes the labels range over (the model's output width).</summary>
    int Classes { get; }

    /// <summary>Optional class names, index by index (folder names, for example); null when there are none.</summary>
    IReadOnlyList<string>? ClassNames => null;

    /// <summary>The class label of sample <paramref name="index"/>; cheap, no decoding (splits and class weights read every one).</summary>
    long LabelOf(int index);

    /// <summary>
    /// Writes sample <paramref name="index"/>'s input (product of <see cref="SampleShape"/> floats, row-major) into
    /// <paramref name="input"/>. Must be thread-safe. Any randomness (augmentation) must come from
    /// <paramref name="context"/>'s generator, which is seeded by (seed, epoch, index), so a resumed run sees the same
    /// augmented sample. A sample that cannot be read throws <see cref="Options.InvalidInputException"/> naming it.
    /// </summary>
    void Fill(int index, Span<float> input, SampleContext context);
}

/// <summary>What a data set may use while it fills one sample.</summary>
/// <param name="Train">True while training (augment); false for validation and test (never augment).</param>
/// <param name="Random">A generator for this sample alone, seeded by (seed, epoch, sample index).</param>
public readonly record struct SampleContext(bool Train, SampleRandom Random);
