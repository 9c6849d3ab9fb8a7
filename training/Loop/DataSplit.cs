using System.Buffers.Binary;
using K8sTraining.Training.Options;
using K8sTraining.Training.Tasks;

namespace K8sTraining.Training.Loop;

/// <summary>
/// Which samples of the task's training split the run trains on and which it validates on (<c>--max-samples-per-class</c>,
/// <c>--val-fraction</c>); both ascending indices into that split. Chosen once, saved with every checkpoint
/// (<see cref="FileName"/>) and reused on each resume, so a resume never moves a sample between train and validation.
/// </summary>
public sealed record DataSplit(int[] Train, int[]? Validation)
{
    /// <summary>The checkpoint file that holds the split (binary, little-endian int32s).</summary>
    public const string FileName = "split.bin";

    private const int Magic = 0x4B53504C; // "KSPL"
    private const int Version = 1;

    /// <summary>
    /// The split for these settings, or null when every training sample trains and there is no validation split to take
    /// (the full mode: the loop uses the training split as it is).
    /// </summary>
    /// <remarks>
    /// Limited mode keeps the first <paramref name="maxSamplesPerClass"/> samples of each class in an order shuffled by
    /// <paramref name="seed"/> alone. The validation split takes round(fraction x n) of each class's n kept samples (in
    /// that shuffled order), leaving at least one of the class in training.
    /// </remarks>
    public static DataSplit? Choose(ITrainingDataset train, long seed, int maxSamplesPerClass, double validationFraction)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentOutOfRangeException.ThrowIfNegative(maxSamplesPerClass);
        if (validationFraction is < 0 or >= 1 || double.IsNaN(validationFraction))
        {
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "must be in [0, 1)");
        }
        if (maxSamplesPerClass == 0 && validationFraction == 0)
        {
            return null;
        }
        var order = ShuffledOrder(seed, train.Count);
        var byClass = new Dictionary<long, List<int>>();
        foreach (var index in order)
        {
            var label = train.LabelOf(index);
            if (!byClass.TryGetValue(label, out var members))
            {
                byClass[label] = members = [];
            }
            if (maxSamplesPerClass == 0 || members.Count < maxSamplesPerClass)
            {
                members.Add(index);
            }
        }
        var trainIndices = new List<int>();
        var validationIndices = new List<int>();
        foreach (var members in byClass.Values)
        {
            var take = validationFraction == 0 ? 0 : Math.Min((int)Math.Round(validationFraction * members.Count, MidpointRounding.AwayFromZero), members.Count - 1);
            validationIndices.AddRange(members.Take(take));
            trainIndices.AddRange(members.Skip(take));
        }
        trainIndices.Sort();
        validationIndices.Sort();
        return new DataSplit([.. trainIndices], validationFraction == 0 ? null : [.. validationIndices]);
    }

    /// <summary>Refuses (exit 2) a saved split that no longer fits the training split it indexes.</summary>
    public void EnsureFits(ITrainingDataset train, string source)
    {
        ArgumentNullException.ThrowIfNull(train);
        foreach (var (name, indices) in new[] { ("training", Train), ("validation", Validation ?? []) })
        {
            var bad = Array.FindIndex(indices, i => i < 0 || i >= train.Count);
            if (bad >= 0)
            {
                throw new InvalidInputException(
                    $"the {name} indices saved in {source} do not fit the data: index {indices[bad]} is out of range for a training split of {train.Count} samples; " +
                    "the data changed since the checkpoint was written: restore the original data, or start over with another --checkpoint-dir");
            }
        }
    }

    public byte[] ToBytes()
    {
        var validation = Validation ?? [];
        var bytes = new byte[4 * (4 + Train.Length + validation.Length)];
        var span = bytes.AsSpan();
        BinaryPrimitives.WriteInt32LittleEndian(span, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(span[4..], Version);
        BinaryPrimitives.WriteInt32LittleEndian(span[8..], Train.Length);
        BinaryPrimitives.WriteInt32LittleEndian(span[12..], Validation is null ? -1 : validation.Length);
        var at = 16;
        foreach (var i in Train.Concat(validation))
        {
            BinaryPrimitives.WriteInt32LittleEndian(span[at..], i);
            at += 4;
        }
        return bytes;
    }

    public static DataSplit Parse(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 16 || BinaryPrimitives.ReadInt32LittleEndian(bytes) != Magic || BinaryPrimitives.ReadInt32LittleEndian(bytes[4..]) != Version)
        {
            throw new InvalidDataException($"{FileName} is not a split file of version {Version}.");
        }
        var trainCount = BinaryPrimitives.ReadInt32LittleEndian(bytes[8..]);
        var validationCount = BinaryPrimitives.ReadInt32LittleEndian(bytes[12..]);
        if (trainCount < 0 || validationCount < -1 || bytes.Length != 4 * (4L + trainCount + Math.Max(validationCount, 0)))
        {
            throw new InvalidDataException($"{FileName} has {bytes.Length} bytes, not the {trainCount} + {validationCount} indices it announces.");
        }
        var train = new int[trainCount];
        for (var i = 0; i < trainCount; i++)
        {
            train[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes[(16 + (4 * i))..]);
        }
        int[]? validation = null;
        if (validationCount >= 0)
        {
            validation = new int[validationCount];
            for (var i = 0; i < validationCount; i++)
            {
                validation[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes[(16 + (4 * (trainCount + i)))..]);
            }
        }
        return new DataSplit(train, validation);
    }

    public bool Equals(DataSplit? other) =>
        other is not null && Train.AsSpan().SequenceEqual(other.Train) && (Validation ?? []).AsSpan().SequenceEqual(other.Validation ?? []) && (Validation is null) == (other.Validation is null);

    public override int GetHashCode() => HashCode.Combine(Train.Length, Validation?.Length);

    /// <summary>Fisher-Yates driven by a generator of <paramref name="seed"/> alone (not of an epoch), so the choice never changes.</summary>
    private static int[] ShuffledOrder(long seed, int count)
    {
        var order = new int[count];
        for (var i = 0; i < count; i++)
        {
            order[i] = i;
        }
        var random = new SampleRandom(seed, -1, -1);
        for (var i = count - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }
}

/// <summary>The samples of <paramref name="source"/> at <paramref name="indices"/>, as a data set of their own.</summary>
public sealed class SubsetDataset(ITrainingDataset source, int[] indices) : ITrainingDataset
{
    public int Count => indices.Length;

    public IReadOnlyList<long> SampleShape => source.SampleShape;

    public int Classes => source.Classes;

    public IReadOnlyList<string>? ClassNames => source.ClassNames;

    public long LabelOf(int index) => source.LabelOf(indices[index]);

    public void Fill(int index, Span<float> input, SampleContext context) => source.Fill(indices[index], input, context);
}
