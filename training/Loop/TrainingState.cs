using System.Text.Json;

namespace K8sTraining.Training.Loop;

/// <summary>
/// Where the run stands (state.json in a checkpoint): the next batch is step <see cref="StepInEpoch"/> (0-based, = steps
/// done in the epoch) of epoch <see cref="Epoch"/> (0-based); the data order follows from (seed, epoch).
/// </summary>
public sealed record TrainingState
{
    public const int CurrentFormatVersion = 1;
    public const string FileName = K8sTraining.Contract.CheckpointLayout.StateFileName;

    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = true };

    public int FormatVersion { get; init; } = CurrentFormatVersion;

    public required TrainingConfiguration Configuration { get; init; }

    public int Epoch { get; set; }

    public int StepInEpoch { get; set; }

    public long GlobalStep { get; set; }

    /// <summary>Sum of per-sample training loss in the current epoch, and the samples it covers.</summary>
    public double EpochLossSum { get; set; }

    public long EpochSamples { get; set; }

    /// <summary>
    /// Written by checkpoints of the first format (lr = base * gamma^epoch); read only so they still parse. The schedule
    /// is now a pure function of the configuration and the step (Schedules.LearningRateSchedule).
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public LegacyEpochSchedule? Schedule { get; init; }

    /// <summary>With --lr auto: the learning rate the LR finder chose before the first step; a resume never searches again.</summary>
    public double? FoundLearningRate { get; set; }

    /// <summary>The best checkpoint so far (by --best-metric on the validation split); null before the first epoch end or without one.</summary>
    public K8sTraining.Contract.BestCheckpoint? Best { get; set; }

    /// <summary>Seconds spent training across all attempts up to this position (the plots' and the text log's wall time).</summary>
    public double TrainingSeconds { get; set; }

    /// <summary>Training samples of the current epoch the model classified right (as the first target, for mixed batches).</summary>
    public long EpochCorrect { get; set; }

    public List<EpochMetrics> History { get; init; } = [];

    /// <summary>
    /// With --init-from: the checkpoint this run's first weights came from and the parameters that kept their fresh
    /// initialisation; null for a run that started from its own initialisation (and in checkpoints before the field).
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public K8sTraining.Contract.InitLineageReport? InitializedFrom { get; set; }

    // The fields below came with resuming under changed parameters (trainer/README.md); absent in older state.json,
    // where their defaults are what those runs did.

    /// <summary>
    /// Samples of the epoch's permutation done: where the next batch starts. Null in checkpoints written before the
    /// field (then <see cref="StepInEpoch"/> times the checkpoint's batch size, Resume.EpochPosition).
    /// </summary>
    public int? SampleInEpoch { get; set; }

    /// <summary>The run's --epochs as of the attempt that wrote the checkpoint; null before the field.</summary>
    public int? Epochs { get; set; }

    /// <summary>The factor on the learning rate from --scale-lr-with-batch; null (1) until a batch-size change scaled it.</summary>
    public double? LearningRateScale { get; set; }

    /// <summary>The samples the epoch in progress permutes while a --samples change waits for its end; null: the configuration's.</summary>
    public int? EpochDatasetSize { get; set; }

    /// <summary>Every change a resume accepted, oldest first (Resume.LineageEntry).</summary>
    public List<K8sTraining.Training.Resume.LineageEntry> Lineage { get; init; } = [];
    /// <summary>With --stages: the stage this position is in (0-based); null without stages (and in older checkpoints).</summary>
    public int? Stage { get; set; }

    /// <summary>With --stages: that stage's name.</summary>
    public string? StageName { get; set; }

    /// <summary>With --stages: the best epoch of the current stage so far (by --best-metric); null before its first epoch end.</summary>
    public K8sTraining.Contract.BestCheckpoint? StageBest { get; set; }

    /// <summary>With --stages: the stages the run was started with (a resume refuses a change to a stage already begun).</summary>
    public IReadOnlyList<K8sTraining.Training.Stages.StageDefinition>? Stages { get; set; }

    /// <summary>With --stages: the --schedule-scope it was started with.</summary>
    public string? ScheduleScope { get; set; }

    /// <summary>
    /// Data parallel: the ranks (WORLD_SIZE) that trained up to this position; null: one process. The configuration's
    /// batch size is then the global batch (--batch-size times this); a resume at another world size re-cuts the epoch
    /// from <see cref="SampleInEpoch"/>, the global sample index.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public int? WorldSize { get; set; }

    public byte[] ToJsonBytes() => JsonSerializer.SerializeToUtf8Bytes(this, JsonOptions);

    public static TrainingState Parse(byte[] json) =>
        JsonSerializer.Deserialize<TrainingState>(json, JsonOptions) ?? throw new InvalidDataException("state.json is empty.");
}

/// <summary>The first format's schedule: exponential decay per epoch (now <c>--scheduler step</c> with a one-epoch step size).</summary>
public sealed record LegacyEpochSchedule(double BaseLearningRate, double Gamma);

/// <summary>What one finished epoch achieved.</summary>
/// <param name="Epoch">The epoch (0-based).</param>
/// <param name="GlobalStep">The global step at its end.</param>
/// <param name="TrainLoss">The mean training loss over its samples.</param>
/// <param name="TestAccuracy">Accuracy on the test split; null at the epochs of a run with a validation split (the test split is read at the end only).</param>
/// <param name="LearningRate">The learning rate it trained with.</param>
/// <param name="ValidationAccuracy">Accuracy on the validation split; null without one.</param>
/// <param name="ClassAccuracy">Per class (by label), accuracy on <paramref name="ClassAccuracySplit"/>; null for a class without samples there.</param>
/// <param name="ClassAccuracySplit">The split per-class accuracy was measured on: validation when there is one, else test.</param>
/// <param name="Metrics">The task's extra metrics, as <c>validation.NAME</c> and <c>test.NAME</c>.</param>
/// <param name="ValidationLoss">Mean loss on the validation split (plain cross-entropy); null without one.</param>
/// <param name="TrainAccuracy">Accuracy on the epoch's training batches, as trained (augmented, against the first target of a mixed batch).</param>
/// <param name="Momentum">The momentum (SGD momentum or AdamW beta1) at the epoch's last step.</param>
/// <param name="MixingMode">Whether the epoch mixed batches: none, or mixup and/or cutmix (MixingModes).</param>
/// <param name="WallSeconds">Training seconds across attempts at the epoch's end.</param>
/// <param name="EmaValidationAccuracy">Validation accuracy of the EMA weights; null without an EMA or a validation split.</param>
/// <param name="EmaValidationLoss">Validation loss of the EMA weights.</param>
/// <param name="Best">The best checkpoint after this epoch.</param>
public sealed record EpochMetrics(
    int Epoch,
    long GlobalStep,
    double TrainLoss,
    double? TestAccuracy,
    double LearningRate,
    double? ValidationAccuracy = null,
    IReadOnlyList<double?>? ClassAccuracy = null,
    string? ClassAccuracySplit = null,
    IReadOnlyDictionary<string, double>? Metrics = null,
    double? ValidationLoss = null,
    double? TrainAccuracy = null,
    double? Momentum = null,
    string? MixingMode = null,
    double? WallSeconds = null,
    double? EmaValidationAccuracy = null,
    double? EmaValidationLoss = null,
    K8sTraining.Contract.BestCheckpoint? Best = null);
