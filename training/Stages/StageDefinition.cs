using K8sTraining.Contract;

namespace K8sTraining.Training.Stages;

/// <summary>
/// One stage of a curriculum as <c>--stages</c> gives it (an item of <c>spec.stages[]</c>): a name, its epochs, and
/// the training settings it overrides (null: the training's own).
/// </summary>
public sealed record StageDefinition
{
    public required string Name { get; init; }

    public required int Epochs { get; init; }

    public int? BatchSize { get; init; }

    /// <summary>The stage's learning rate, absolute; not with <see cref="LrScale"/>.</summary>
    public double? LearningRate { get; init; }

    /// <summary>The stage's learning rate as a multiple of the training's (or of the LR finder's choice).</summary>
    public double? LrScale { get; init; }

    public StageScheduleOverride? Schedule { get; init; }

    /// <summary>The share of the training split the stage trains on, (0, 1]; null: all of it.</summary>
    public double? DataFraction { get; init; }

    public int? ImageSize { get; init; }

    /// <summary>False: no mixup or CutMix in this stage; null or true: the training's mixing settings.</summary>
    public bool? Mixup { get; init; }

    public IReadOnlyList<string>? Freeze { get; init; }

    /// <summary>One of <see cref="StageInitFromNames.All"/>.</summary>
    public string InitFrom { get; init; } = StageInitFromNames.Previous;

    /// <summary>The stage's time box, in seconds (read by the deadline logic; recorded here).</summary>
    public int? MaxDurationSeconds { get; init; }
}

/// <summary>A stage's schedule: the fields of <c>spec.training.schedule</c>, each overriding the training's when given.</summary>
public sealed record StageScheduleOverride
{
    public string? Type { get; init; }

    public int? WarmupSteps { get; init; }

    public double? WarmupEpochs { get; init; }

    public double? MinLearningRate { get; init; }

    public double? Gamma { get; init; }

    public int? StepSize { get; init; }

    public IReadOnlyList<int>? Milestones { get; init; }

    public double? PctStart { get; init; }

    public double? DivFactor { get; init; }

    public double? FinalDivFactor { get; init; }

    public double? BaseMomentum { get; init; }

    public double? MaxMomentum { get; init; }
}
