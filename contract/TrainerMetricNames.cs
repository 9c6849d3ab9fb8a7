namespace K8sTraining.Contract;

/// <summary>
/// The trainer's progress gauges on its /metrics (Prometheus names) that the operator reads to follow a running attempt;
/// each carries the <see cref="JobMetricLabels"/>.
/// </summary>
public static class TrainerMetricNames
{
    /// <summary>Optimizer steps completed since the start of training (across attempts).</summary>
    public const string GlobalStep = "k8straining_trainer_global_step";

    /// <summary>Current epoch, 0-based.</summary>
    public const string Epoch = "k8straining_trainer_epoch";

    /// <summary>Steps completed in the current epoch.</summary>
    public const string StepInEpoch = "k8straining_trainer_step_in_epoch";

    /// <summary>Global step of the newest checkpoint a replacement would resume from.</summary>
    public const string CheckpointGlobalStep = "k8straining_trainer_checkpoint_global_step";

    /// <summary>Epoch of that checkpoint.</summary>
    public const string CheckpointEpoch = "k8straining_trainer_checkpoint_epoch";

    /// <summary>Step in epoch of that checkpoint.</summary>
    public const string CheckpointStepInEpoch = "k8straining_trainer_checkpoint_step_in_epoch";

    /// <summary>Global step this attempt resumed from (0 when it started fresh); known before the first step.</summary>
    public const string ResumedFromGlobalStep = "k8straining_trainer_resumed_from_global_step";

    /// <summary>Epoch this attempt resumed from (0 when it started fresh).</summary>
    public const string ResumedFromEpoch = "k8straining_trainer_resumed_from_epoch";

    /// <summary>Step in epoch this attempt resumed from (0 when it started fresh).</summary>
    public const string ResumedFromStepInEpoch = "k8straining_trainer_resumed_from_step_in_epoch";

    /// <summary>
    /// Global step of the best checkpoint (by the validation metric), once it is durable (committed remotely with a
    /// remote store, else on local disk); absent while the run has none. Labelled with <see cref="BestMetricLabel"/> and
    /// <see cref="BestWeightsLabel"/>, like <see cref="BestEpoch"/> and <see cref="BestValue"/>.
    /// </summary>
    public const string BestGlobalStep = "k8straining_trainer_best_global_step";

    /// <summary>Epoch at whose end the best checkpoint was measured, 0-based.</summary>
    public const string BestEpoch = "k8straining_trainer_best_epoch";

    /// <summary>The best checkpoint's value of its metric (validation accuracy 0..1, or validation loss).</summary>
    public const string BestValue = "k8straining_trainer_best_value";

    /// <summary>The label naming the best's metric (<see cref="BestMetricNames"/>) on the best gauges.</summary>
    public const string BestMetricLabel = "metric";

    /// <summary>The label naming which weights won (<see cref="BestWeightsNames"/>) on the best gauges.</summary>
    public const string BestWeightsLabel = "weights";

    /// <summary>The stage a staged run is in, 0-based; labelled with <see cref="StageLabel"/> (bounded by the stage count).</summary>
    public const string StageIndex = "k8straining_trainer_stage_index";

    /// <summary>The label naming the stage (its name) on <see cref="StageIndex"/>.</summary>
    public const string StageLabel = "stage";

    /// <summary>Every progress gauge above.</summary>
    public static readonly IReadOnlyList<string> Progress =
    [
        GlobalStep, Epoch, StepInEpoch, CheckpointGlobalStep, CheckpointEpoch, CheckpointStepInEpoch,
        ResumedFromGlobalStep, ResumedFromEpoch, ResumedFromStepInEpoch, BestGlobalStep, BestEpoch, BestValue,
    ];

    /// <summary>The learning rate of the last optimizer step (what the schedule set). For people and dashboards.</summary>
    public const string LearningRate = "k8straining_trainer_learning_rate";

    /// <summary>
    /// The best validation accuracy so far, across attempts: the best checkpoint's value when it is chosen by validation
    /// accuracy, else the highest validation accuracy of any finished epoch. Absent without a validation split.
    /// </summary>
    public const string BestValidationAccuracy = "k8straining_trainer_best_validation_accuracy";
}
