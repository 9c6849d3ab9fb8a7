using System.Globalization;
using K8sTraining.Contract;
using K8sTraining.Training.Options;

namespace K8sTraining.Training.Stages;

/// <summary>
/// One stage as the loop runs it: its place in the run's epochs (<see cref="FirstEpoch"/> up to, not including,
/// <see cref="EndEpoch"/>) and its effective options (the run's flags with the stage's overrides).
/// </summary>
/// <param name="Index">0-based.</param>
/// <param name="Name">The stage's name; empty for the one implicit stage of a run without --stages.</param>
/// <param name="FirstEpoch">The run's epoch (0-based) the stage starts at.</param>
/// <param name="Epochs">The stage's epochs.</param>
/// <param name="Options">The run's options with the stage's overrides; <c>Epochs</c> is the stage's own.</param>
/// <param name="DataFraction">The share of the training split the stage trains on (1: all of it).</param>
/// <param name="ImageSize">The stage's own imageSize, for which the data is reloaded; null: the data as the run loads it.</param>
/// <param name="LearningRate">The stage's absolute learning rate; null: <see cref="LrScale"/> times the run's.</param>
/// <param name="LrScale">Multiplies the run's learning rate when the stage gives no absolute one.</param>
/// <param name="InitFrom">Where the stage's weights start (StageInitFromNames).</param>
/// <param name="MixUntilEpoch">Stage-local epochs before this one may mix batches (--mix-off-last-epochs counts the run's last epochs; mixup false: 0).</param>
/// <param name="MaxDurationSeconds">The stage's time limit in each attempt (maxDurationSeconds); null: none.</param>
public sealed record Stage(
    int Index,
    string Name,
    int FirstEpoch,
    int Epochs,
    TrainerOptions Options,
    double DataFraction,
    int? ImageSize,
    double? LearningRate,
    double LrScale,
    string InitFrom,
    int MixUntilEpoch,
    int? MaxDurationSeconds = null)
{
    public int EndEpoch => FirstEpoch + Epochs;

    /// <summary>The stage's peak learning rate, given the run's (--lr, or the LR finder's choice).</summary>
    public double LearningRateFor(double runLearningRate) => LearningRate ?? (runLearningRate * LrScale);
}

/// <summary>
/// The stages a run goes through, in order, built from the options (--stages, --schedule-scope). A run without --stages
/// is one implicit stage of --epochs with the options as they are, so one loop serves both.
/// </summary>
public sealed class StagePlan
{
    private StagePlan(IReadOnlyList<Stage> stages, bool isStaged, string scheduleScope)
    {
        Stages = stages;
        IsStaged = isStaged;
        ScheduleScope = scheduleScope;
    }

    public IReadOnlyList<Stage> Stages { get; }

    /// <summary>True with --stages; false for the one implicit stage (no stage artefacts, reports or gauges then).</summary>
    public bool IsStaged { get; }

    /// <summary>One of <see cref="ScheduleScopeNames.All"/>.</summary>
    public string ScheduleScope { get; }

    public int TotalEpochs => Stages[^1].EndEpoch;

    /// <summary>The stage that <paramref name="epoch"/> (0-based, of the run) belongs to; the last stage from the end of the run on.</summary>
    public Stage At(int epoch) => Stages.FirstOrDefault(s => epoch < s.EndEpoch) ?? Stages[^1];

    /// <summary>The report of <paramref name="stage"/> for the termination message; null without --stages.</summary>
    public StageReport? Report(Stage stage)
    {
        ArgumentNullException.ThrowIfNull(stage);
        return IsStaged ? new StageReport(stage.Name, stage.Index, Stages.Count) : null;
    }

    /// <summary>
    /// The plan of <paramref name="options"/>. Throws <see cref="OptionsException"/> (exit 2) when a stage's merged
    /// schedule is not one the flags would allow.
    /// </summary>
    public static StagePlan From(TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var runMixUntil = options.Epochs - options.ResolvedMixOffEpochs;
        if (options.Stages is not { Count: > 0 } definitions)
        {
            return new StagePlan([new Stage(0, "", 0, options.Epochs, options, 1, null, null, 1, StageInitFromNames.Previous, runMixUntil)], false, options.ScheduleScope);
        }
        var stages = new List<Stage>();
        var first = 0;
        foreach (var definition in definitions)
        {
            var index = stages.Count;
            var mixes = definition.Mixup != false;
            var effective = WithSchedule(options, definition.Schedule, index) with
            {
                Epochs = definition.Epochs,
                BatchSize = definition.BatchSize ?? options.BatchSize,
                LearningRate = definition.LearningRate ?? (options.LearningRate * (definition.LrScale ?? 1)),
                ImageSize = definition.ImageSize ?? options.ImageSize,
                MixupAlpha = mixes ? options.MixupAlpha : 0,
                CutMixAlpha = mixes ? options.CutMixAlpha : 0,
                MixOffLastEpochs = 0,
                Freeze = definition.Freeze ?? options.Freeze,
                Stages = null,
            };
            var mixUntil = mixes ? Math.Clamp(runMixUntil - first, 0, definition.Epochs) : 0;
            stages.Add(new Stage(index, definition.Name, first, definition.Epochs, effective, definition.DataFraction ?? 1, definition.ImageSize, definition.LearningRate, definition.LrScale ?? 1, definition.InitFrom, mixUntil, definition.MaxDurationSeconds));
            first += definition.Epochs;
        }
        return new StagePlan(stages, true, options.ScheduleScope);
    }

    private static TrainerOptions WithSchedule(TrainerOptions options, StageScheduleOverride? schedule, int index)
    {
        if (schedule is null)
        {
            return options;
        }
        var merged = options with
        {
            Scheduler = schedule.Type ?? options.Scheduler,
            WarmupSteps = schedule.WarmupSteps ?? (schedule.WarmupEpochs is not null ? 0 : options.WarmupSteps),
            WarmupEpochs = schedule.WarmupEpochs ?? (schedule.WarmupSteps is not null ? null : options.WarmupEpochs),
            MinLearningRate = schedule.MinLearningRate ?? options.MinLearningRate,
            LearningRateGamma = schedule.Gamma ?? options.LearningRateGamma,
            StepSize = schedule.StepSize ?? options.StepSize,
            Milestones = schedule.Milestones ?? options.Milestones,
            OneCyclePctStart = schedule.PctStart ?? options.OneCyclePctStart,
            OneCycleDivFactor = schedule.DivFactor ?? options.OneCycleDivFactor,
            OneCycleFinalDivFactor = schedule.FinalDivFactor ?? options.OneCycleFinalDivFactor,
            BaseMomentum = schedule.BaseMomentum ?? options.BaseMomentum,
            MaxMomentum = schedule.MaxMomentum ?? options.MaxMomentum,
        };
        var at = $"--stages: stages[{index.ToString(CultureInfo.InvariantCulture)}].schedule";
        if (merged.WarmupSteps > 0 && merged.WarmupEpochs is not null)
        {
            throw new OptionsException($"{at}: warmupSteps and warmupEpochs are both set (one from the training's schedule); give one of the two");
        }
        if ((merged.WarmupSteps > 0 || merged.WarmupEpochs is not null) && merged.Scheduler == SchedulerNames.OneCycle)
        {
            throw new OptionsException($"{at}: a warmup is not allowed with type {SchedulerNames.OneCycle}, which warms up by itself; set warmupSteps to 0 in the stage, and oneCycle.pctStart for a longer rise");
        }
        if (merged.Scheduler == SchedulerNames.MultiStep && merged.Milestones.Count == 0)
        {
            throw new OptionsException($"{at}.milestones: required with type {SchedulerNames.MultiStep}; give the stage's epochs at which the learning rate drops, such as [2, 4]");
        }
        if (merged.BaseMomentum > merged.MaxMomentum)
        {
            throw new OptionsException($"{at}.oneCycle.baseMomentum: {merged.BaseMomentum.ToString(CultureInfo.InvariantCulture)} is above maxMomentum {merged.MaxMomentum.ToString(CultureInfo.InvariantCulture)}; give at most maxMomentum");
        }
        return merged;
    }
}
