using System.Globalization;
using K8sTraining.Contract;
using K8sTraining.Operator.Api;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>A training setting that differs from the one the job's checkpoints were trained with.</summary>
public sealed record TrainingChange(string Field, string Old, string New);

/// <summary>
/// The trainer resumes a checkpoint only under the settings it was trained with (it exits 2 otherwise), so an edit of
/// them on a job that has checkpoints would turn the next preemption into a failure. This piece records what the
/// checkpoints belong to and finds an edit of it, so the operator can refuse the edit at once instead.
/// </summary>
public static class TrainingChanges
{
    /// <summary>
    /// The settings the trainer compares with a checkpoint's, and those that shape the network, the split or the loss
    /// (epochs, dataPath and the loader may change).
    /// </summary>
    public static TrainingChange? Find(TrainingSpec? recorded, TrainingSpec? now)
    {
        if (recorded is null || now is null)
        {
            return null;
        }

        (string Field, object? Old, object? New)[] fields =
        [
            ("spec.training.model", recorded.Model, now.Model),
            ("spec.training.dataset", recorded.Dataset, now.Dataset),
            ("spec.training.samples", Samples(recorded), Samples(now)),
            ("spec.training.seed", recorded.Seed, now.Seed),
            ("spec.training.batchSize", recorded.BatchSize, now.BatchSize),
            ("spec.training.optimizer", recorded.Optimizer, now.Optimizer),
            ("spec.training.learningRate", recorded.LearningRate, now.LearningRate),
            // What shapes the network or the math of every step; the loader's threads and prefetch do not.
            ("spec.training.numClasses", recorded.NumClasses, now.NumClasses),
            ("spec.training.inChannels", recorded.InChannels, now.InChannels),
            ("spec.training.imageSize", recorded.ImageSize, now.ImageSize),
            ("spec.training.stem", recorded.Stem, now.Stem),
            ("spec.training.augmentation.randomCropPadding", recorded.Augmentation?.RandomCropPadding, now.Augmentation?.RandomCropPadding),
            ("spec.training.augmentation.horizontalFlip", recorded.Augmentation?.HorizontalFlip, now.Augmentation?.HorizontalFlip),
            ("spec.training.normalize", recorded.Normalize, now.Normalize),
            ("spec.training.maxSamplesPerClass", recorded.MaxSamplesPerClass, now.MaxSamplesPerClass),
            ("spec.training.validationFraction", recorded.ValidationFraction, now.ValidationFraction),
            ("spec.training.classWeights", recorded.ClassWeights, now.ClassWeights),
            ("spec.training.loss", recorded.Loss, now.Loss),
            ("spec.training.focalGamma", recorded.FocalGamma, now.FocalGamma),
            .. RecipeFields(recorded, now),
        ];
        foreach (var (field, old, value) in fields)
        {
            if (!Equals(old, value))
            {
                return new TrainingChange(field, Text(old), Text(value));
            }
        }

        return null;
    }

    /// <summary>
    /// The edit to refuse now, if any: the spec's training differs from what the checkpoints at the same uri were
    /// trained with, and those checkpoints exist (or a running attempt is writing them).
    /// </summary>
    public static TrainingChange? Refused(TrainingJobSpec spec, TrainingJobStatus status, bool attemptAlive)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(status);
        var uri = spec.Checkpoint?.Uri;
        if (string.IsNullOrEmpty(uri) || status.CheckpointedTraining is not { } recorded || recorded.Uri != uri)
        {
            return null;
        }

        return HasCheckpoints(status, uri) || attemptAlive ? Find(recorded.Training, spec.Training) : null;
    }

    /// <summary>What a fresh start records: the checkpoints it writes belong to this spec's training.</summary>
    public static void RecordOnFreshStart(TrainingJobSpec spec, TrainingJobStatus status)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(status);
        var uri = spec.Checkpoint?.Uri;
        if (string.IsNullOrEmpty(uri))
        {
            status.CheckpointedTraining = null;
            return;
        }

        if (status.CheckpointedTraining is { } recorded && recorded.Uri == uri && HasCheckpoints(status, uri))
        {
            return;
        }

        status.CheckpointedTraining = new CheckpointedTraining { Uri = uri, Training = spec.Training is null ? null : Copy(spec.Training) };
    }

    public static string Describe(TrainingChange change, string? uri) =>
        $"{change.Field} changed from {change.Old} to {change.New}, but the checkpoints at {uri} were trained with {change.Old}, " +
        "and a resume refuses changed training settings: no new attempt starts from this spec (a running attempt goes on unchanged). " +
        $"Revert {change.Field} to {change.Old}, or create a new job with a fresh spec.checkpoint.uri";

    private static bool HasCheckpoints(TrainingJobStatus status, string uri) =>
        status.ResumeFrom is not null || (status.LastCheckpoint is { Uploaded: true } c && c.Location?.StartsWith(uri, StringComparison.Ordinal) == true);

    /// <summary>
    /// The recipe's fields the trainer records in a checkpoint's configuration (best.* is not: it changes no step), and
    /// epochs when the schedule or the mixing spans the whole run (the trainer then records --epochs too).
    /// </summary>
    private static (string Field, object? Old, object? New)[] RecipeFields(TrainingSpec recorded, TrainingSpec now)
    {
        ScheduleSpec r = recorded.Schedule ?? new(), n = now.Schedule ?? new();
        OneCycleSpec rc = r.OneCycle ?? new(), nc = n.OneCycle ?? new();
        LrFinderSpec rf = recorded.LrFinder ?? new(), nf = now.LrFinder ?? new();
        MixingSpec rm = recorded.Mixing ?? new(), nm = now.Mixing ?? new();
        return
        [
            ("spec.training.schedule.type", r.Type, n.Type),
            ("spec.training.schedule.warmupSteps", r.WarmupSteps, n.WarmupSteps),
            ("spec.training.schedule.warmupEpochs", r.WarmupEpochs, n.WarmupEpochs),
            ("spec.training.schedule.minLearningRate", r.MinLearningRate, n.MinLearningRate),
            ("spec.training.schedule.gamma", r.Gamma, n.Gamma),
            ("spec.training.schedule.stepSize", r.StepSize, n.StepSize),
            ("spec.training.schedule.milestones", Join(r.Milestones), Join(n.Milestones)),
            ("spec.training.schedule.oneCycle.pctStart", rc.PctStart, nc.PctStart),
            ("spec.training.schedule.oneCycle.divFactor", rc.DivFactor, nc.DivFactor),
            ("spec.training.schedule.oneCycle.finalDivFactor", rc.FinalDivFactor, nc.FinalDivFactor),
            ("spec.training.schedule.oneCycle.baseMomentum", rc.BaseMomentum, nc.BaseMomentum),
            ("spec.training.schedule.oneCycle.maxMomentum", rc.MaxMomentum, nc.MaxMomentum),
            ("spec.training.momentum", recorded.Momentum, now.Momentum),
            ("spec.training.nesterov", recorded.Nesterov, now.Nesterov),
            ("spec.training.weightDecay", recorded.WeightDecay, now.WeightDecay),
            ("spec.training.gradClipNorm", recorded.GradClipNorm, now.GradClipNorm),
            ("spec.training.gradAccumulationSteps", recorded.GradAccumulationSteps, now.GradAccumulationSteps),
            ("spec.training.lrFinder.auto", rf.Auto, nf.Auto),
            ("spec.training.lrFinder.steps", rf.Steps, nf.Steps),
            ("spec.training.lrFinder.startLearningRate", rf.StartLearningRate, nf.StartLearningRate),
            ("spec.training.lrFinder.endLearningRate", rf.EndLearningRate, nf.EndLearningRate),
            ("spec.training.lrFinder.rule", rf.Rule, nf.Rule),
            ("spec.training.mixing.mixupAlpha", rm.MixupAlpha, nm.MixupAlpha),
            ("spec.training.mixing.cutmixAlpha", rm.CutmixAlpha, nm.CutmixAlpha),
            ("spec.training.mixing.probability", rm.Probability, nm.Probability),
            ("spec.training.mixing.offLastEpochs", rm.OffLastEpochs, nm.OffLastEpochs),
            ("spec.training.labelSmoothing", recorded.LabelSmoothing, now.LabelSmoothing),
            ("spec.training.emaDecay", recorded.EmaDecay, now.EmaDecay),
            ("spec.training.freeze", Join(recorded.Freeze), Join(now.Freeze)),
            ("spec.training.epochs", SpansTheRun(recorded) ? recorded.Epochs : null, SpansTheRun(recorded) ? now.Epochs : null),
        ];
    }

    /// <summary>Whether every step's math depends on the number of epochs (the trainer's TrainingConfiguration.DependsOnEpochs).</summary>
    public static bool SpansTheRun(TrainingSpec t)
    {
        ArgumentNullException.ThrowIfNull(t);
        return t.Schedule?.Type is SchedulerNames.Cosine or SchedulerNames.Linear or SchedulerNames.OneCycle
            || t.Mixing?.OffLastEpochs > 0
            || t.Schedule?.WarmupEpochs > 0;
    }

    private static string? Join<T>(IEnumerable<T>? values) => values is null ? null : string.Join(',', values);

    private static object? Samples(TrainingSpec t) => t.Dataset == DatasetNames.FashionMnist ? null : t.Samples;

    private static string Text(object? value) => value switch
    {
        null => "(unset)",
        bool b => b ? "true" : "false",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static TrainingSpec Copy(TrainingSpec t) => new()
    {
        Model = t.Model,
        Dataset = t.Dataset,
        DataPath = t.DataPath,
        Samples = t.Samples,
        Epochs = t.Epochs,
        BatchSize = t.BatchSize,
        LearningRate = t.LearningRate,
        Optimizer = t.Optimizer,
        Seed = t.Seed,
        NumClasses = t.NumClasses,
        InChannels = t.InChannels,
        ImageSize = t.ImageSize,
        Stem = t.Stem,
        Augmentation = t.Augmentation is { } a ? new AugmentationSpec { RandomCropPadding = a.RandomCropPadding, HorizontalFlip = a.HorizontalFlip } : null,
        Normalize = t.Normalize,
        MaxSamplesPerClass = t.MaxSamplesPerClass,
        ValidationFraction = t.ValidationFraction,
        ClassWeights = t.ClassWeights,
        Loss = t.Loss,
        FocalGamma = t.FocalGamma,
        Loader = t.Loader is { } l ? new LoaderSpec { Workers = l.Workers, PrefetchBatches = l.PrefetchBatches } : null,
        Schedule = t.Schedule is { } s ? new ScheduleSpec
        {
            Type = s.Type, WarmupSteps = s.WarmupSteps, WarmupEpochs = s.WarmupEpochs, MinLearningRate = s.MinLearningRate, Gamma = s.Gamma,
            StepSize = s.StepSize, Milestones = s.Milestones is null ? null : [.. s.Milestones],
            OneCycle = s.OneCycle is { } c ? new OneCycleSpec { PctStart = c.PctStart, DivFactor = c.DivFactor, FinalDivFactor = c.FinalDivFactor, BaseMomentum = c.BaseMomentum, MaxMomentum = c.MaxMomentum } : null,
        } : null,
        Momentum = t.Momentum,
        Nesterov = t.Nesterov,
        WeightDecay = t.WeightDecay,
        GradClipNorm = t.GradClipNorm,
        GradAccumulationSteps = t.GradAccumulationSteps,
        LrFinder = t.LrFinder is { } f ? new LrFinderSpec { Auto = f.Auto, Steps = f.Steps, StartLearningRate = f.StartLearningRate, EndLearningRate = f.EndLearningRate, Rule = f.Rule } : null,
        Mixing = t.Mixing is { } m ? new MixingSpec { MixupAlpha = m.MixupAlpha, CutmixAlpha = m.CutmixAlpha, Probability = m.Probability, OffLastEpochs = m.OffLastEpochs } : null,
        LabelSmoothing = t.LabelSmoothing,
        EmaDecay = t.EmaDecay,
        Freeze = t.Freeze is null ? null : [.. t.Freeze],
        Best = t.Best is { } b ? new BestSpec { Metric = b.Metric, Weights = b.Weights } : null,
    };
}
