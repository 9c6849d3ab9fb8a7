using System.Text.Json;

namespace K8sTraining.Training.Loop;

/// <summary>
/// Where the run stands (state.json in a checkpoint): the next batch is step <see cref="StepInEpoch"/> (0-based, = steps
/// done in the epoch) of epoch <see cref="Epoch"/> (0-based); the data order follows from (seed, epoch).
/// </summary>
public sealed record TrainingState
{
    public const int CurrentFormatVersion = 1;
    public const string FileName = "state.json";

    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = true };

    public int FormatVersion { get; init; } = CurrentFormatVersion;

    public required TrainingConfiguration Configuration { get; init; }

    public int Epoch { get; set; }

    public int StepInEpoch { get; set; }

    public long GlobalStep { get; set; }

    /// <summary>Sum of per-sample training loss in the current epoch, and the samples it covers.</summary>
    public double EpochLossSum { get; set; }

    public long EpochSamples { get; set; }

    /// <summary>The learning-rate schedule's state: exponential, lr = base * gamma^epoch.</summary>
    public required LearningRateSchedule Schedule { get; init; }

    public List<EpochMetrics> History { get; init; } = [];

    public byte[] ToJsonBytes() => JsonSerializer.SerializeToUtf8Bytes(this, JsonOptions);

    public static TrainingState Parse(byte[] json) =>
        JsonSerializer.Deserialize<TrainingState>(json, JsonOptions) ?? throw new InvalidDataException("state.json is empty.");
}

/// <summary>Exponential decay per epoch; a pure function of the epoch, so its state is its parameters.</summary>
public sealed record LearningRateSchedule(double BaseLearningRate, double Gamma)
{
    public double LearningRateAt(int epoch) => BaseLearningRate * Math.Pow(Gamma, epoch);
}

/// <summary>What one finished epoch achieved.</summary>
/// <param name="Epoch">The epoch (0-based).</param>
/// <param name="GlobalStep">The global step at its end.</param>
/// <param name="TrainLoss">The mean training loss over its samples.</param>
/// <param name="TestAccuracy">Accuracy on the test split.</param>
/// <param name="LearningRate">The learning rate it trained with.</param>
/// <param name="ValidationAccuracy">Accuracy on the validation split; null without one.</param>
/// <param name="ClassAccuracy">Per class (by label), accuracy on <paramref name="ClassAccuracySplit"/>; null for a class without samples there.</param>
/// <param name="ClassAccuracySplit">The split per-class accuracy was measured on: validation when there is one, else test.</param>
/// <param name="Metrics">The task's extra metrics, as <c>validation.NAME</c> and <c>test.NAME</c>.</param>
public sealed record EpochMetrics(
    int Epoch,
    long GlobalStep,
    double TrainLoss,
    double TestAccuracy,
    double LearningRate,
    double? ValidationAccuracy = null,
    IReadOnlyList<double?>? ClassAccuracy = null,
    string? ClassAccuracySplit = null,
    IReadOnlyDictionary<string, double>? Metrics = null);
