using System.Globalization;
using K8sTraining.Contract;
using K8sTraining.Operator.Api;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>A training setting that differs from the one the job's checkpoints were trained with.</summary>
public sealed record TrainingChange(string Field, string Old, string New);

/// <summary>How the trainer takes a changed setting on resume (issue 16).</summary>
public enum TrainingChangeKind
{
    /// <summary>Refused: the checkpoints cannot continue under it (architecture, data set identity, seed...).</summary>
    Refused,

    /// <summary>Taken on resume and recorded in the checkpoint's lineage (batch size, epochs, samples).</summary>
    Allowed,

    /// <summary>Taken on resume with TRAINER_RECONFIGURE=true: the schedule is rebuilt from the current position.</summary>
    Reconfigure,
}

/// <summary>
/// The trainer resumes a checkpoint only under the settings it was trained with (it exits 2 otherwise), so an edit of
/// them on a job that has checkpoints would turn the next preemption into a failure. This piece records what the
/// checkpoints belong to and finds an edit of it, so the operator can refuse the edit at once instead.
/// </summary>
public static class TrainingChanges
{
    /// <summary>
    /// The first setting whose change a resume refuses: what shapes the network, the data or the loss (the settings
    /// the trainer compares with a checkpoint's, less those a resume may now change: batch size, epochs, samples, the
    /// learning rate, the schedule and the optimizer's hyper-parameters).
    /// </summary>
    public static TrainingChange? Find(TrainingSpec? recorded, TrainingSpec? now) =>
        Changes(recorded, now).Where(c => c.Kind == TrainingChangeKind.Refused).Select(c => c.Change).FirstOrDefault();

    /// <summary>
    /// Whether a resume under <paramref name="now"/> needs TRAINER_RECONFIGURE=true: the learning rate, the schedule or
    /// an optimizer hyper-parameter differs from the checkpoints' (or the epochs, when the schedule spans the run).
    /// </summary>
    public static bool NeedsReconfigure(TrainingSpec? recorded, TrainingSpec? now) =>
        Changes(recorded, now).Any(c => c.Kind == TrainingChangeKind.Reconfigure);

    /// <summary>Every setting that differs between the checkpoints' training and the spec's, with how a resume takes it.</summary>
    public static IReadOnlyList<(TrainingChange Change, TrainingChangeKind Kind)> Changes(TrainingSpec? recorded, TrainingSpec? now)
    {
        if (recorded is null || now is null)
        {
            return [];
        }

        (string Field, object? Old, object? New, TrainingChangeKind Kind)[] fields =
        [
            ("spec.training.model", recorded.Model, now.Model, TrainingChangeKind.Refused),
            ("spec.training.dataset", recorded.Dataset, now.Dataset, TrainingChangeKind.Refused),
            ("spec.training.samples", Samples(recorded), Samples(now), TrainingChangeKind.Allowed),
            ("spec.training.seed", recorded.Seed, now.Seed, TrainingChangeKind.Refused),
            ("spec.training.batchSize", recorded.BatchSize, now.BatchSize, TrainingChangeKind.Allowed),
            ("spec.training.optimizer", recorded.Optimizer, now.Optimizer, TrainingChangeKind.Refused),
            ("spec.training.learningRate", recorded.LearningRate, now.LearningRate, TrainingChangeKind.Reconfigure),
            ("spec.training.scaleLrWithBatch", recorded.ScaleLrWithBatch, now.ScaleLrWithBatch, TrainingChangeKind.Reconfigure),
            // What shapes the network or the math of every step; the loader's threads and prefetch do not.
            ("spec.training.numClasses", recorded.NumClasses, now.NumClasses, TrainingChangeKind.Refused),
            ("spec.training.inChannels", recorded.InChannels, now.InChannels, TrainingChangeKind.Refused),
            ("spec.training.imageSize", recorded.ImageSize, now.ImageSize, TrainingChangeKind.Refused),
            ("spec.training.stem", recorded.Stem, now.Stem, TrainingChangeKind.Refused),
            ("spec.training.cnnChannels", recorded.CnnChannels, now.CnnChannels, TrainingChangeKind.Refused),
            ("spec.training.augmentation.randomCropPadding", recorded.Augmentation?.RandomCropPadding, now.Augmentation?.RandomCropPadding, TrainingChangeKind.Refused),
            ("spec.training.augmentation.horizontalFlip", recorded.Augmentation?.HorizontalFlip, now.Augmentation?.HorizontalFlip, TrainingChangeKind.Refused),
            ("spec.training.normalize", recorded.Normalize, now.Normalize, TrainingChangeKind.Refused),
            ("spec.training.maxSamplesPerClass", recorded.MaxSamplesPerClass, now.MaxSamplesPerClass, TrainingChangeKind.Refused),
            ("spec.training.validationFraction", recorded.ValidationFraction, now.ValidationFraction, TrainingChangeKind.Refused),
            ("spec.training.classWeights", recorded.ClassWeights, now.ClassWeights, TrainingChangeKind.Refused),
            ("spec.training.loss", recorded.Loss, now.Loss, TrainingChangeKind.Refused),
            ("spec.training.focalGamma", recorded.FocalGamma, now.FocalGamma, TrainingChangeKind.Refused),
            .. RecipeFields(recorded, now),
        ];
        return [.. fields.Where(f => !Equals(f.Old, f.New)).Select(f => (new TrainingChange(f.Field, Text(f.Old), Text(f.New)), f.Kind))];
    }

    /// <summary>
    /// A change of spec.stages a resume refuses: the stages the checkpoints were trained with must stay, by name and in
    /// order; stages may only be added after them.
    /// </summary>
    public static TrainingChange? FindInStages(IList<string>? recorded, IList<StageSpec>? now)
    {
        if (recorded is not { Count: > 0 })
        {
            return null;
        }

        var names = (now ?? []).Select(s => s.Name).ToList();
        return names.Count >= recorded.Count && names.Take(recorded.Count).SequenceEqual(recorded, StringComparer.Ordinal)
            ? null
            : new TrainingChange("spec.stages", string.Join(',', recorded), names.Count == 0 ? "(unset)" : string.Join(',', names));
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

        return HasCheckpoints(status, uri) || attemptAlive ? Find(recorded.Training, spec.Training) ?? FindInStages(recorded.StageNames, spec.Stages) : null;
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

        status.CheckpointedTraining = new CheckpointedTraining
        {
            Uri = uri,
            Training = spec.Training is null ? null : Copy(spec.Training),
            StageNames = spec.Stages is { Count: > 0 } stages ? [.. stages.Select(s => s.Name)] : null,
        };
    }

    public static string Describe(TrainingChange change, string? uri) =>
        $"{change.Field} changed from {change.Old} to {change.New}, but the checkpoints at {uri} were trained with {change.Old}, " +
        "and a resume refuses this change (batch size, epochs, samples, stages added at the end, the learning rate, the schedule and the optimizer's hyper-parameters may change; " +
        "the model, the data and the seed may not): no new attempt starts from this spec (a running attempt goes on unchanged). " +
        $"Revert {change.Field} to {change.Old}, or create a new job with a fresh spec.checkpoint.uri (spec.initFrom can start it from these checkpoints' weights)";

    private static bool HasCheckpoints(TrainingJobStatus status, string uri) =>
        status.ResumeFrom is not null || (status.LastCheckpoint is { Uploaded: true } c && c.Location?.StartsWith(uri, StringComparison.Ordinal) == true);

    /// <summary>
    /// The recipe's fields the trainer records in a checkpoint's configuration (best.* is not: it changes no step), and
    /// epochs when the schedule or the mixing spans the whole run (the trainer then records --epochs too).
    /// </summary>
    private static (string Field, object? Old, object? New, TrainingChangeKind Kind)[] RecipeFields(TrainingSpec recorded, TrainingSpec now)
    {
        ScheduleSpec r = recorded.Schedule ?? new(), n = now.Schedule ?? new();
        OneCycleSpec rc = r.OneCycle ?? new(), nc = n.OneCycle ?? new();
        LrFinderSpec rf = recorded.LrFinder ?? new(), nf = now.LrFinder ?? new();
        MixingSpec rm = recorded.Mixing ?? new(), nm = now.Mixing ?? new();
        return
        [
            ("spec.training.schedule.type", r.Type, n.Type, TrainingChangeKind.Reconfigure),
            ("spec.training.schedule.warmupSteps", r.WarmupSteps, n.WarmupSteps, TrainingChangeKind.Reconfigure),
            ("spec.training.schedule.warmupEpochs", r.WarmupEpochs, n.WarmupEpochs, TrainingChangeKind.Reconfigure),
            ("spec.training.schedule.minLearningRate", r.MinLearningRate, n.MinLearningRate, TrainingChangeKind.Reconfigure),
            ("spec.training.schedule.gamma", r.Gamma, n.Gamma, TrainingChangeKind.Reconfigure),
            ("spec.training.schedule.stepSize", r.StepSize, n.StepSize, TrainingChangeKind.Reconfigure),
            ("spec.training.schedule.milestones", Join(r.Milestones), Join(n.Milestones), TrainingChangeKind.Reconfigure),
            ("spec.training.schedule.oneCycle.pctStart", rc.PctStart, nc.PctStart, TrainingChangeKind.Reconfigure),
            ("spec.training.schedule.oneCycle.divFactor", rc.DivFactor, nc.DivFactor, TrainingChangeKind.Reconfigure),
            ("spec.training.schedule.oneCycle.finalDivFactor", rc.FinalDivFactor, nc.FinalDivFactor, TrainingChangeKind.Reconfigure),
            ("spec.training.schedule.oneCycle.baseMomentum", rc.BaseMomentum, nc.BaseMomentum, TrainingChangeKind.Reconfigure),
            ("spec.training.schedule.oneCycle.maxMomentum", rc.MaxMomentum, nc.MaxMomentum, TrainingChangeKind.Reconfigure),
            ("spec.training.momentum", recorded.Momentum, now.Momentum, TrainingChangeKind.Reconfigure),
            ("spec.training.nesterov", recorded.Nesterov, now.Nesterov, TrainingChangeKind.Reconfigure),
            ("spec.training.weightDecay", recorded.WeightDecay, now.WeightDecay, TrainingChangeKind.Reconfigure),
            ("spec.training.gradClipNorm", recorded.GradClipNorm, now.GradClipNorm, TrainingChangeKind.Refused),
            ("spec.training.gradAccumulationSteps", recorded.GradAccumulationSteps, now.GradAccumulationSteps, TrainingChangeKind.Refused),
            ("spec.training.lrFinder.auto", rf.Auto, nf.Auto, TrainingChangeKind.Refused),
            ("spec.training.lrFinder.steps", rf.Steps, nf.Steps, TrainingChangeKind.Refused),
            ("spec.training.lrFinder.startLearningRate", rf.StartLearningRate, nf.StartLearningRate, TrainingChangeKind.Refused),
            ("spec.training.lrFinder.endLearningRate", rf.EndLearningRate, nf.EndLearningRate, TrainingChangeKind.Refused),
            ("spec.training.lrFinder.rule", rf.Rule, nf.Rule, TrainingChangeKind.Refused),
            ("spec.training.mixing.mixupAlpha", rm.MixupAlpha, nm.MixupAlpha, TrainingChangeKind.Refused),
            ("spec.training.mixing.cutmixAlpha", rm.CutmixAlpha, nm.CutmixAlpha, TrainingChangeKind.Refused),
            ("spec.training.mixing.probability", rm.Probability, nm.Probability, TrainingChangeKind.Refused),
            ("spec.training.mixing.offLastEpochs", rm.OffLastEpochs, nm.OffLastEpochs, TrainingChangeKind.Refused),
            ("spec.training.labelSmoothing", recorded.LabelSmoothing, now.LabelSmoothing, TrainingChangeKind.Refused),
            ("spec.training.emaDecay", recorded.EmaDecay, now.EmaDecay, TrainingChangeKind.Refused),
            ("spec.training.freeze", Join(recorded.Freeze), Join(now.Freeze), TrainingChangeKind.Refused),
            // More (or fewer) epochs: a schedule or mixing that spans the run is rebuilt for the new length.
            ("spec.training.epochs", recorded.Epochs, now.Epochs, SpansTheRun(recorded) ? TrainingChangeKind.Reconfigure : TrainingChangeKind.Allowed),
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
        CnnChannels = t.CnnChannels,
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
        ScaleLrWithBatch = t.ScaleLrWithBatch,
    };
}
