using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;
using K8sTraining.Training.Loop;
using K8sTraining.Training.Options;
using K8sTraining.Training.Tasks;
using TorchSharp.Modules;

namespace K8sTraining.Training.Stages;

/// <summary>
/// What a staged run keeps from stage to stage: the plan, each stage's data (the training split reloaded at the stage's
/// image size, cut to its data fraction), the current stage's optimizer, and the stage's best weights so far (kept in
/// every checkpoint while the next stage starts from them, so a resume anywhere gets the same weights).
/// </summary>
public sealed class StageContext(StagePlan plan, TrainingTask task, TrainingData data, DataSplit? split, long seed)
{
    /// <summary>In a checkpoint of a stage followed by a best-of-previous stage: the stage's best weights so far (model format).</summary>
    public const string BestWeightsFileName = "stage-best.bin";

    private (int Size, TrainingData Data)? _resized;

    public StagePlan Plan => plan;

    /// <summary>Samples in the run's training split (before any stage's data fraction).</summary>
    public int TrainCount => data.Train.Count;

    /// <summary>The current stage's best weights (raw or EMA, as --best-weights chooses), in the model's format; null before its first best.</summary>
    public byte[]? BestWeights { get; set; }

    /// <summary>The current stage's optimizer (a new one per stage); the previous one is disposed when it is replaced.</summary>
    public OptimizerHelper? Optimizer { get; private set; }

    /// <summary>Training batches of the whole run (the ETA's denominator).</summary>
    public long TotalBatches => plan.Stages.Sum(s => (long)BatchesPerEpoch(s, TrainCount) * s.Epochs);

    /// <summary>Batches per epoch of <paramref name="stage"/> on a training split of <paramref name="trainCount"/>.</summary>
    public static int BatchesPerEpoch(Stage stage, int trainCount)
    {
        ArgumentNullException.ThrowIfNull(stage);
        return (StageSubset.Size(trainCount, stage.DataFraction) + stage.Options.BatchSize - 1) / stage.Options.BatchSize;
    }

    /// <summary>The data the model is built for: at the largest image size of any stage (a smaller one then fits it too).</summary>
    public TrainingData ForModel()
    {
        var sizes = plan.Stages.Where(s => s.ImageSize is not null).ToList();
        if (sizes.Count == 0)
        {
            return data;
        }
        var largest = sizes.MaxBy(s => s.ImageSize!.Value)!;
        return AtSize(largest);
    }

    /// <summary>The splits <paramref name="stage"/> trains and evaluates on.</summary>
    public TrainingData For(Stage stage)
    {
        ArgumentNullException.ThrowIfNull(stage);
        var loaded = AtSize(stage);
        if (StageSubset.Indices(seed, loaded.Train.Count, stage.DataFraction) is not { } kept)
        {
            return loaded;
        }
        return loaded with { Train = new SubsetDataset(loaded.Train, kept) };
    }

    /// <summary>Makes <paramref name="optimizer"/> the current one, disposing the previous stage's.</summary>
    public void Replace(OptimizerHelper optimizer)
    {
        if (!ReferenceEquals(Optimizer, optimizer))
        {
            Optimizer?.Dispose();
        }
        Optimizer = optimizer;
    }

    public void DisposeOptimizer()
    {
        Optimizer?.Dispose();
        Optimizer = null;
    }

    /// <summary>The stage-best file for a checkpoint of <paramref name="stage"/>: only while the next stage starts from the best of this one.</summary>
    public (string Name, byte[] Bytes)? BestWeightsFile(Stage stage)
    {
        ArgumentNullException.ThrowIfNull(stage);
        return NextStartsFromBest(stage) && BestWeights is { } weights ? (BestWeightsFileName, weights) : null;
    }

    /// <summary>True when the stage after <paramref name="stage"/> starts from its best weights.</summary>
    public bool NextStartsFromBest(Stage stage)
    {
        ArgumentNullException.ThrowIfNull(stage);
        return plan.IsStaged && stage.Index + 1 < plan.Stages.Count && plan.Stages[stage.Index + 1].InitFrom == StageInitFromNames.BestOfPrevious;
    }

    /// <summary>Reads the stage's best weights so far from the checkpoint resumed from (when it holds them).</summary>
    public void RestoreBestWeights(LocalCheckpoint? checkpoint)
    {
        if (checkpoint is not null && checkpoint.Manifest.Files.Any(f => f.Name == BestWeightsFileName))
        {
            BestWeights = File.ReadAllBytes(checkpoint.FilePath(BestWeightsFileName));
        }
    }

    private TrainingData AtSize(Stage stage)
    {
        if (stage.ImageSize is not { } size || SizeOf(data) == size)
        {
            return data;
        }
        if (_resized is { } cached && cached.Size == size)
        {
            return cached.Data;
        }
        var load = task.LoadDataAtImageSize
            ?? throw new InvalidInputException($"--stages: stages[{stage.Index}].imageSize: {task.ModelName} on {task.DatasetName} cannot resize its data (its TrainingTask has no LoadDataAtImageSize); remove imageSize, or give the task one");
        // One other size is kept at a time: a stage's data, or the model's largest before the first stage.
        _resized = null;
        var resized = TrainingLoop.ApplySplit(load(size), split);
        _resized = (size, resized);
        return resized;
    }

    private static int? SizeOf(TrainingData data) =>
        data.Train.SampleShape is { Count: 3 } shape ? (int)shape[2] : null;
}
