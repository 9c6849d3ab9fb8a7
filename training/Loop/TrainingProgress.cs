namespace K8sTraining.Training.Loop;

/// <summary>
/// A snapshot of progress after each step: what the progress bar, logs, CSV and metrics show. <see cref="LearningRate"/>
/// and <see cref="Momentum"/> are those the last optimizer step used; <see cref="MixingMode"/> what its batch went through.
/// </summary>
public sealed record TrainingProgress(
    int Epoch,
    int Epochs,
    int StepInEpoch,
    int StepsPerEpoch,
    long GlobalStep,
    long TotalSteps,
    double Loss,
    double LearningRate,
    double SamplesPerSecond,
    TimeSpan? EstimatedRemaining,
    long? LastCheckpointStep,
    double? Momentum = null,
    string MixingMode = "none",
    string? Stage = null);

/// <summary>What a run reports on, known once its data is loaded: the columns of the epoch report.</summary>
/// <param name="ClassNames">One name per class (the data set's names, else the label numbers).</param>
/// <param name="HasValidation">Whether there is a validation split (its accuracy is reported).</param>
/// <param name="MetricNames">The task's extra metrics.</param>
/// <param name="History">The epochs finished before this attempt started (from the checkpoint it resumed from).</param>
/// <param name="ResumedAtStep">The global step this attempt resumed at; null for a fresh start.</param>
/// <param name="Schedule">The learning rate and momentum of every optimizer step (a pure function), for the schedule plot; null when unknown.</param>
/// <param name="OptimizerStepsPerEpoch">Optimizer steps per epoch (batches per epoch over --grad-accumulation-steps, rounded up).</param>
/// <param name="Epochs">Epochs of the whole run.</param>
/// <param name="Staged">True for a run with --stages (the CSV log gets a stage column).</param>
public sealed record TrainingRunInfo(
    IReadOnlyList<string> ClassNames,
    bool HasValidation,
    IReadOnlyList<string> MetricNames,
    IReadOnlyList<EpochMetrics>? History = null,
    long? ResumedAtStep = null,
    Func<long, K8sTraining.Training.Schedules.ScheduledValues>? Schedule = null,
    long OptimizerStepsPerEpoch = 0,
    int Epochs = 0,
    bool Staged = false);

/// <summary>Receives progress; implementations must be cheap, they run on the training thread.</summary>
public interface ITrainingObserver
{
    /// <summary>Once per attempt, before the first step or epoch report.</summary>
    void OnStart(TrainingRunInfo run)
    {
    }

    void OnStep(TrainingProgress progress);

    void OnEpochEnd(EpochMetrics metrics, TrainingProgress progress);

    /// <summary>A line for a person (start, resume, checkpoint, end).</summary>
    void OnMessage(string message);

    /// <summary>
    /// Once per attempt that finishes or stops by a signal, after its last checkpoint is written and before the
    /// checkpoint uploads are flushed (so the artifacts' final upload runs beside that flush, in the same budget).
    /// </summary>
    void OnEnd(TrainingEnd end)
    {
    }
}
