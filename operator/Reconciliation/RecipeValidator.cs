using System.Globalization;
using K8sTraining.Contract;
using K8sTraining.Operator.Api;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>
/// The training recipe's fields (schedule, optimizer knobs, LR finder, mixing, label smoothing, EMA, freeze, best) with
/// the trainer's own bounds and rules (OptionsParser), so a job the operator starts never ends in exit 2 for one of them.
/// The CRD schema says the same (bounds, enums, and the cross-field rules as x-kubernetes-validations); this piece says
/// it again for servers that do not apply the schema or its CEL rules.
/// </summary>
public static class RecipeValidator
{
    /// <summary>The trainer's --base-momentum when unset (the CRD's oneCycle rule uses it too).</summary>
    public const double DefaultBaseMomentum = 0.85;

    /// <summary>The trainer's --max-momentum when unset.</summary>
    public const double DefaultMaxMomentum = 0.95;

    /// <summary>The largest momentum, beta1 or EMA decay the trainer takes (below 1).</summary>
    public const double MaxFraction = 0.999999;

    public static void Check(List<string> errors, TrainingSpec t)
    {
        ArgumentNullException.ThrowIfNull(errors);
        ArgumentNullException.ThrowIfNull(t);
        CheckSchedule(errors, t.Schedule);
        Range(errors, "spec.training.momentum", t.Momentum, 0, MaxFraction);
        Range(errors, "spec.training.weightDecay", t.WeightDecay, 0, 10);
        Range(errors, "spec.training.gradClipNorm", t.GradClipNorm, 0, 1e9);
        Range(errors, "spec.training.gradAccumulationSteps", t.GradAccumulationSteps, 1, 100_000);
        if (t.LrFinder is { } finder)
        {
            Range(errors, "spec.training.lrFinder.steps", finder.Steps, 5, 100_000);
            Positive(errors, "spec.training.lrFinder.startLearningRate", finder.StartLearningRate, 10);
            Positive(errors, "spec.training.lrFinder.endLearningRate", finder.EndLearningRate, 1000);
            OneOf(errors, "spec.training.lrFinder.rule", finder.Rule, LrFinderRuleNames.All);
            if (finder.Auto == true && t.LearningRate is not null)
            {
                errors.Add("spec.training.learningRate and spec.training.lrFinder.auto are both set: remove learningRate (the LR finder chooses it), or set lrFinder.auto to false");
            }
        }

        if (t.Mixing is { } mixing)
        {
            Range(errors, "spec.training.mixing.mixupAlpha", mixing.MixupAlpha, 0, 100);
            Range(errors, "spec.training.mixing.cutmixAlpha", mixing.CutmixAlpha, 0, 100);
            Positive(errors, "spec.training.mixing.probability", mixing.Probability, 1);
            Range(errors, "spec.training.mixing.offLastEpochs", mixing.OffLastEpochs, 0, 100_000);
            if (mixing.OffLastEpochs is >= 1 and <= 100_000 and var off && off != Math.Floor(off))
            {
                errors.Add($"spec.training.mixing.offLastEpochs must be a whole number of epochs, or a fraction of the epochs below 1, not {Text(off)}");
            }
        }

        Range(errors, "spec.training.labelSmoothing", t.LabelSmoothing, 0, 0.999);
        Range(errors, "spec.training.emaDecay", t.EmaDecay, 0, MaxFraction);
        for (var i = 0; i < (t.Freeze?.Count ?? 0); i++)
        {
            var prefix = t.Freeze![i];
            if (string.IsNullOrEmpty(prefix) || prefix.Any(c => c == ',' || char.IsWhiteSpace(c)))
            {
                errors.Add($"spec.training.freeze[{i}] '{prefix}' is not a parameter name prefix: give one prefix per item, without commas or spaces (e.g. conv1)");
            }
        }

        if (t.Best is { } best)
        {
            OneOf(errors, "spec.training.best.metric", best.Metric, BestMetricNames.All);
            OneOf(errors, "spec.training.best.weights", best.Weights, BestWeightsNames.All);
            if (best.Weights == BestWeightsNames.Ema && !(t.EmaDecay > 0))
            {
                errors.Add($"spec.training.best.weights {BestWeightsNames.Ema} needs an EMA: set spec.training.emaDecay (e.g. 0.999), or best.weights {BestWeightsNames.Raw}");
            }
        }
    }

    private static void CheckSchedule(List<string> errors, ScheduleSpec? s)
    {
        if (s is null)
        {
            return;
        }

        OneOf(errors, "spec.training.schedule.type", s.Type, SchedulerNames.All);
        Range(errors, "spec.training.schedule.warmupSteps", s.WarmupSteps, 0, int.MaxValue);
        Range(errors, "spec.training.schedule.warmupEpochs", s.WarmupEpochs, 0, 100_000);
        Range(errors, "spec.training.schedule.minLearningRate", s.MinLearningRate, 0, 10);
        Positive(errors, "spec.training.schedule.gamma", s.Gamma, 1);
        Range(errors, "spec.training.schedule.stepSize", s.StepSize, 1, int.MaxValue);
        var milestones = s.Milestones ?? [];
        for (var i = 0; i < milestones.Count; i++)
        {
            if (milestones[i] is < 0 or > 100_000 || (i > 0 && milestones[i] <= milestones[i - 1]))
            {
                errors.Add($"spec.training.schedule.milestones [{string.Join(", ", milestones)}] must be increasing epochs from 0 to 100000, e.g. [30, 60, 90]");
                break;
            }
        }

        var warmup = s.WarmupSteps > 0 || s.WarmupEpochs > 0;
        if (s.WarmupSteps > 0 && s.WarmupEpochs > 0)
        {
            errors.Add("spec.training.schedule.warmupSteps and warmupEpochs are both set: give one of the two");
        }

        if (warmup && s.Type == SchedulerNames.OneCycle)
        {
            errors.Add($"spec.training.schedule.{(s.WarmupSteps > 0 ? "warmupSteps" : "warmupEpochs")} is not allowed with schedule.type {SchedulerNames.OneCycle}, which warms up by itself: remove it, and set schedule.oneCycle.pctStart for a longer rise");
        }

        if (s.Type == SchedulerNames.MultiStep && milestones.Count == 0)
        {
            errors.Add($"spec.training.schedule.milestones is required when schedule.type is {SchedulerNames.MultiStep}: give the epochs at which the learning rate drops, e.g. [30, 60, 90]");
        }

        if (s.OneCycle is { } cycle)
        {
            Positive(errors, "spec.training.schedule.oneCycle.pctStart", cycle.PctStart, 0.999);
            Positive(errors, "spec.training.schedule.oneCycle.divFactor", cycle.DivFactor, 1e9);
            Positive(errors, "spec.training.schedule.oneCycle.finalDivFactor", cycle.FinalDivFactor, 1e12);
            Range(errors, "spec.training.schedule.oneCycle.baseMomentum", cycle.BaseMomentum, 0, MaxFraction);
            Range(errors, "spec.training.schedule.oneCycle.maxMomentum", cycle.MaxMomentum, 0, MaxFraction);
            var low = cycle.BaseMomentum ?? DefaultBaseMomentum;
            var high = cycle.MaxMomentum ?? DefaultMaxMomentum;
            if (low > high)
            {
                errors.Add($"spec.training.schedule.oneCycle.baseMomentum ({Text(low)}{(cycle.BaseMomentum is null ? ", the trainer's default" : "")}) must be at most maxMomentum ({Text(high)}{(cycle.MaxMomentum is null ? ", the trainer's default" : "")}): lower baseMomentum or raise maxMomentum");
            }
        }
    }

    private static void Range(List<string> errors, string field, double? value, double minimum, double maximum)
    {
        if (value is { } v && !(v >= minimum && v <= maximum))
        {
            errors.Add($"{field} must be from {Text(minimum)} to {Text(maximum)}, not {Text(v)}");
        }
    }

    private static void Range(List<string> errors, string field, int? value, int minimum, int maximum)
    {
        if (value is { } v && (v < minimum || v > maximum))
        {
            errors.Add($"{field} must be from {minimum} to {maximum}, not {v}");
        }
    }

    /// <summary>Above 0 and at most <paramref name="maximum"/>: the trainer's bound for a rate, factor or probability.</summary>
    private static void Positive(List<string> errors, string field, double? value, double maximum)
    {
        if (value is { } v && !(v > 0 && v <= maximum))
        {
            errors.Add($"{field} must be greater than 0 and at most {Text(maximum)}, not {Text(v)}");
        }
    }

    private static void OneOf(List<string> errors, string field, string? value, IReadOnlyList<string> allowed)
    {
        if (value is not null && !allowed.Contains(value))
        {
            errors.Add($"{field} must be one of {string.Join(", ", allowed)}, not '{value}'");
        }
    }

    private static string Text(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
