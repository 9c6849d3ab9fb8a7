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
    double FocalGamma = TrainingConfiguration.DefaultFocalGamma,
    string Scheduler = SchedulerNames.Step,
    int WarmupSteps = 0,
    double? WarmupEpochs = null,
    double MinLearningRate = 0,
    int? StepSize = null,
    string Milestones = "",
    string OneCycle = "",
    double Momentum = 0.9,
    bool Nesterov = false,
    double WeightDecay = 0,
    double GradClipNorm = 0,
    int GradAccumulationSteps = 1,
    bool LearningRateAuto = false,
    string LrFind = "",
    double MixupAlpha = 0,
    double CutMixAlpha = 0,
    double MixProbability = 1,
    double MixOffLastEpochs = 0,
    double LabelSmoothing = 0,
    double EmaDecay = 0,
    string Freeze = "",
    int ScheduleEpochs = 0,
    int CnnChannels = Models.Cnn.DefaultChannels)
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
        options.Loss == LossNames.Focal ? options.FocalGamma : DefaultFocalGamma,
        options.Scheduler,
        options.WarmupSteps,
        options.WarmupEpochs,
        options.MinLearningRate,
        options.StepSize,
        string.Join(',', options.Milestones),
        options.Scheduler == SchedulerNames.OneCycle ? FormattableString.Invariant($"{options.OneCyclePctStart},{options.OneCycleDivFactor},{options.OneCycleFinalDivFactor},{options.BaseMomentum},{options.MaxMomentum}") : "",
        options.Momentum,
        options.Nesterov,
        options.WeightDecay,
        options.GradClipNorm,
        options.GradAccumulationSteps,
        options.LearningRateAuto,
        options.LearningRateAuto ? LrFindSettings(options) : "",
        options.MixupAlpha,
        options.CutMixAlpha,
        options.MixProbability,
        options.MixOffLastEpochs,
        options.LabelSmoothing,
        options.EmaDecay,
        string.Join(',', options.Freeze),
        DependsOnEpochs(options) ? options.Epochs : 0,
        options.CnnChannels ?? Models.Cnn.DefaultChannels);

    /// <summary>The sweep as recorded: steps, start and end, and the rule unless it is the first one (so older checkpoints still match).</summary>
    private static string LrFindSettings(TrainerOptions options)
    {
        var sweep = FormattableString.Invariant($"{options.LrFindSteps},{options.LrFindStart},{options.LrFindEnd}");
        return options.LrFindRule == LrFinderRuleNames.Steepest ? sweep : $"{sweep},{options.LrFindRule}";
    }

    /// <summary>
    /// Whether the math of a step depends on --epochs (the schedule spans the whole run, or mixing stops some epochs
    /// before its end): then --epochs is part of the configuration, and changing it needs a reconfigure.
    /// </summary>
    public static bool DependsOnEpochs(TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Scheduler is SchedulerNames.Cosine or SchedulerNames.Linear or SchedulerNames.OneCycle
            || options.MixOffLastEpochs > 0
            || options.WarmupEpochs is not null;
    }

    /// <summary>The first field (as its flag) whose value differs from <paramref name="saved"/>, or null.</summary>
    public (string Flag, string Saved, string Requested)? FirstDifference(TrainingConfiguration saved) =>
        Differences(saved).Select(d => ((string Flag, string Saved, string Requested)?)d).FirstOrDefault();

    /// <summary>
    /// Every field (as its flag, in the order of the flags) whose value differs from <paramref name="saved"/>; whether a
    /// resume may take a difference is Resume.ResumeChanges' decision.
    /// </summary>
    public IReadOnlyList<(string Flag, string Saved, string Requested)> Differences(TrainingConfiguration saved) =>
        Fields(saved).Where(f => !Equals(f.Saved, f.Requested)).Select(f => (f.Flag, Show(f.Saved), Show(f.Requested))).ToList();

    /// <summary>The flag of every field, in order (the names <see cref="Differences"/> reports).</summary>
    public static IReadOnlyList<string> FieldFlags { get; } =
        new TrainingConfiguration(string.Empty, string.Empty, 0, 0, 1, string.Empty, 0, 0).Fields(null).Select(f => f.Flag).ToList();

    private (string Flag, object? Saved, object? Requested)[] Fields(TrainingConfiguration? saved)
    {
        saved ??= this;
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
            ("--scheduler", saved.Scheduler, Scheduler),
            ("--warmup-steps", saved.WarmupSteps, WarmupSteps),
            ("--warmup-epochs", saved.WarmupEpochs, WarmupEpochs),
            ("--min-lr", saved.MinLearningRate, MinLearningRate),
            ("--step-size", saved.StepSize, StepSize),
            ("--milestones", saved.Milestones, Milestones),
            ("--onecycle-pct-start, --onecycle-div-factor, --onecycle-final-div-factor, --base-momentum, --max-momentum", saved.OneCycle, OneCycle),
            ("--momentum", saved.Momentum, Momentum),
            ("--nesterov", saved.Nesterov, Nesterov),
            ("--weight-decay", saved.WeightDecay, WeightDecay),
            ("--grad-clip-norm", saved.GradClipNorm, GradClipNorm),
            ("--grad-accumulation-steps", saved.GradAccumulationSteps, GradAccumulationSteps),
            ("--lr auto", saved.LearningRateAuto, LearningRateAuto),
            ("--lr-find-steps, --lr-find-start, --lr-find-end, --lr-find-rule", saved.LrFind, LrFind),
            ("--mixup-alpha", saved.MixupAlpha, MixupAlpha),
            ("--cutmix-alpha", saved.CutMixAlpha, CutMixAlpha),
            ("--mix-prob", saved.MixProbability, MixProbability),
            ("--mix-off-last-epochs", saved.MixOffLastEpochs, MixOffLastEpochs),
            ("--label-smoothing", saved.LabelSmoothing, LabelSmoothing),
            ("--ema-decay", saved.EmaDecay, EmaDecay),
            ("--freeze", saved.Freeze, Freeze),
            ("--epochs", saved.ScheduleEpochs, ScheduleEpochs),
            ("--cnn-channels", saved.CnnChannels, CnnChannels),
        ];
        return fields;
    }

    /// <summary>How a value appears in a difference and in the lineage (invariant culture, null as <see cref="Unset"/>).</summary>
    public static string Show(object? value) => value switch
    {
        null => Unset,
        bool b => b ? "true" : "false",
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)!,
    };
}

/// <summary>The checkpoint found was trained under another configuration; resuming would silently change the run.</summary>
public sealed class ConfigurationMismatchException(string message) : Exception(message);
