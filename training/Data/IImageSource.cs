namespace K8sTraining.Training.Data;

/// <summary>A set of labelled images read one at a time (decoded lazily or held in memory); must be thread-safe.</summary>
public interface IImageSource
{
    int Count { get; }

    long LabelOf(int index);

    /// <summary>Reads image <paramref name="index"/> into an array rented from <see cref="System.Buffers.ArrayPool{T}.Shared"/> (the caller returns it).</summary>
    SourceImage Read(int index);
}
