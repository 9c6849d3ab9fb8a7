using K8sTraining.Contract;
using K8sTraining.Training.Options;
using K8sTraining.Training.Tasks;

namespace K8sTraining.Training.Loop;

/// <summary>
/// The settings that decide the math of a run; a checkpoint resumes only under the same ones. The fields added after
/// the first format default to what runs before them did, so their checkpoints still resume.
/// </summary>
public sealed record TrainingConfiguration(
    string Model,
    string Dataset,
    int Samples,
    long Seed,
    int BatchSize,
    string Optimizer,
    double LearningRate,
    double LearningRateGamma,
    int? NumClasses = null,
    int? InChannels = null,
    int? ImageSize = null,
    string Stem = "auto",
    int RandomCropPadding = 0,
    bool HorizontalFlip = false,
    bool Normalize = true,
    int MaxSamplesPerClass = 0,
    double ValFraction = 0,
    string ClassWeights = DefaultLoss.NoWeights,
    string Loss = LossNames.CrossEntropy,
    double FocalGamma = TrainingConfiguration.DefaultFocalGamma)
{
    /// <summary>How a difference shows a setting that was not given (the data set's own value).</summary>
    public const string Unset = "unset";

    /// <summary>The focal gamma recorded when the loss is not focal (it changes nothing then).</summary>
    public const double DefaultFocalGamma = 2.0;

    /// <summary>The configuration of the built-in task the flags name.</summary>
    public static TrainingConfiguration From(TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return From(options, options.Model, options.Dataset);
    }

    /// <summary>The configuration of <paramref name="task"/> under these flags (its model and data set names).</summary>
    public static TrainingConfiguration From(TrainerOptions options, TrainingTask task)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(task);
        return From(options, task.ModelName, task.DatasetName);
    }

    private static TrainingConfiguration From(TrainerOptions options, string model, string dataset) => new(
        model,
        dataset,
        dataset == DatasetNames.Synthetic ? options.Samples : 0,
        options.Seed,
        options.BatchSize,
        options.Optimizer,
        options.LearningRate,
        options.LearningRateGamma,
        options.NumClasses,
        options.InChannels,
        options.ImageSize,
        options.Stem,
        options.RandomCropPadding,
        options.HorizontalFlip,
        options.Normalize,
        options.MaxSamplesPerClass,
        options.ValFraction,
        options.ClassWeights,
        options.Loss,
        options.Loss == LossNames.Focal ? options.FocalGamma : DefaultFocalGamma);

    /// <summary>The first field (as its flag) whose value differs from <paramref name="saved"/>, or null.</summary>
    public (string Flag, string Saved, string Requested)? FirstDifference(TrainingConfiguration saved)
    {
        ArgumentNullException.ThrowIfNull(saved);
        (string, object?, object?)[] fields =
        [
            ("--model", saved.Model, Model),
            ("--dataset", saved.Dataset, Dataset),
            ("--samples", saved.Samples, Samples),
            ("--seed", saved.Seed, Seed),
            ("--batch-size", saved.BatchSize, BatchSize),
            ("--optimizer", saved.Optimizer, Optimizer),
            ("--lr", saved.LearningRate, LearningRate),
            ("--lr-gamma", saved.LearningRateGamma, LearningRateGamma),
            ("--num-classes", saved.NumClasses, NumClasses),
            ("--in-channels", saved.InChannels, InChannels),
            ("--image-size", saved.ImageSize, ImageSize),
            ("--stem", saved.Stem, Stem),
            ("--random-crop-padding", saved.RandomCropPadding, RandomCropPadding),
            ("--horizontal-flip", saved.HorizontalFlip, HorizontalFlip),
            ("--normalize", saved.Normalize, Normalize),
            ("--max-samples-per-class", saved.MaxSamplesPerClass, MaxSamplesPerClass),
            ("--val-fraction", saved.ValFraction, ValFraction),
            ("--class-weights", saved.ClassWeights, ClassWeights),
            ("--loss", saved.Loss, Loss),
            ("--focal-gamma", saved.FocalGamma, FocalGamma),
        ];
        foreach (var (flag, before, now) in fields)
        {
            if (!Equals(before, now))
            {
                return (flag, Show(before), Show(now));
            }
        }
        return null;
    }

    private static string Show(object? value) => value switch
    {
        null => Unset,
        bool b => b ? "true" : "false",
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)!,
    };
}

/// <summary>The checkpoint found was trained under another configuration; resuming would silently change the run.</summary>
public sealed class ConfigurationMismatchException(string message) : Exception(message);
