using System.Text.Json.Serialization;

namespace K8sTraining.Operator.Api;

/// <summary>The learning-rate schedule of spec.training: its type and the parameters each type reads.</summary>
public sealed class ScheduleSpec
{
    /// <summary>One of SchedulerNames.All (--scheduler; trainer default step, which with gamma 1 is constant).</summary>
    [JsonPropertyName("type")]
    public string? Type { get; set; }

    /// <summary>Linear warmup from 0 over this many optimizer steps (--warmup-steps); not with onecycle.</summary>
    [JsonPropertyName("warmupSteps")]
    public int? WarmupSteps { get; set; }

    /// <summary>Warmup over this many epochs instead of warmupSteps (--warmup-epochs); not with onecycle.</summary>
    [JsonPropertyName("warmupEpochs")]
    public double? WarmupEpochs { get; set; }

    /// <summary>Where cosine and linear end (--min-lr).</summary>
    [JsonPropertyName("minLearningRate")]
    public double? MinLearningRate { get; set; }

    /// <summary>Decay factor of step, multistep and exponential (--lr-gamma).</summary>
    [JsonPropertyName("gamma")]
    public double? Gamma { get; set; }

    /// <summary>step: optimizer steps between decays (--step-size; trainer default one epoch).</summary>
    [JsonPropertyName("stepSize")]
    public int? StepSize { get; set; }

    /// <summary>multistep: the epochs, increasing, at whose start the learning rate is multiplied by gamma (--milestones).</summary>
    [JsonPropertyName("milestones")]
    public IList<int>? Milestones { get; set; }

    /// <summary>onecycle: the shape of the cycle.</summary>
    [JsonPropertyName("oneCycle")]
    public OneCycleSpec? OneCycle { get; set; }
}

/// <summary>PyTorch's OneCycleLR parameters: the learning rate rises then falls, the momentum the other way.</summary>
public sealed class OneCycleSpec
{
    /// <summary>Fraction of the steps spent raising the learning rate (--onecycle-pct-start; trainer default 0.3).</summary>
    [JsonPropertyName("pctStart")]
    public double? PctStart { get; set; }

    /// <summary>The first learning rate is the maximum divided by this (--onecycle-div-factor; trainer default 25).</summary>
    [JsonPropertyName("divFactor")]
    public double? DivFactor { get; set; }

    /// <summary>The last learning rate is the first divided by this (--onecycle-final-div-factor; trainer default 1e4).</summary>
    [JsonPropertyName("finalDivFactor")]
    public double? FinalDivFactor { get; set; }

    /// <summary>The lowest momentum, at the learning rate's peak (--base-momentum; trainer default 0.85).</summary>
    [JsonPropertyName("baseMomentum")]
    public double? BaseMomentum { get; set; }

    /// <summary>The highest momentum, at the start and the end (--max-momentum; trainer default 0.95).</summary>
    [JsonPropertyName("maxMomentum")]
    public double? MaxMomentum { get; set; }
}

/// <summary>The LR finder: an exponential sweep of the learning rate on a copy of the model before the first step.</summary>
public sealed class LrFinderSpec
{
    /// <summary>True: the sweep's suggestion is the learning rate (TRAINER_LR=auto); learningRate must then be unset.</summary>
    [JsonPropertyName("auto")]
    public bool? Auto { get; set; }

    /// <summary>Optimizer steps of the sweep (--lr-find-steps; trainer default 100).</summary>
    [JsonPropertyName("steps")]
    public int? Steps { get; set; }

    /// <summary>The sweep's first learning rate (--lr-find-start; trainer default 1e-7).</summary>
    [JsonPropertyName("startLearningRate")]
    public double? StartLearningRate { get; set; }

    /// <summary>The sweep's last learning rate (--lr-find-end; trainer default 10).</summary>
    [JsonPropertyName("endLearningRate")]
    public double? EndLearningRate { get; set; }

    /// <summary>How the curve becomes the suggestion (--lr-find-rule): one of <see cref="K8sTraining.Contract.LrFinderRuleNames.All"/>; trainer default steepest.</summary>
    [JsonPropertyName("rule")]
    public string? Rule { get; set; }
}

/// <summary>Mixup and CutMix of training batches, drawn from the checkpointed random state.</summary>
public sealed class MixingSpec
{
    /// <summary>Mixup: lambda ~ Beta(alpha, alpha) (--mixup-alpha; 0 = off).</summary>
    [JsonPropertyName("mixupAlpha")]
    public double? MixupAlpha { get; set; }

    /// <summary>CutMix: area ratio ~ Beta(alpha, alpha) (--cutmix-alpha; 0 = off).</summary>
    [JsonPropertyName("cutmixAlpha")]
    public double? CutmixAlpha { get; set; }

    /// <summary>The chance a batch is mixed (--mix-prob; trainer default 1).</summary>
    [JsonPropertyName("probability")]
    public double? Probability { get; set; }

    /// <summary>No mixing in the last N epochs (a whole number), or the last fraction (below 1) of them (--mix-off-last-epochs).</summary>
    [JsonPropertyName("offLastEpochs")]
    public double? OffLastEpochs { get; set; }
}

/// <summary>The best checkpoint: kept beside the newest ones, through retention, by a validation metric.</summary>
public sealed class BestSpec
{
    /// <summary>One of BestMetricNames.All (--best-metric; trainer default val-accuracy with a validation split, else none).</summary>
    [JsonPropertyName("metric")]
    public string? Metric { get; set; }

    /// <summary>One of BestWeightsNames.All (--best-weights; trainer default ema with emaDecay, else raw).</summary>
    [JsonPropertyName("weights")]
    public string? Weights { get; set; }
}
