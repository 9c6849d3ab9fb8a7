namespace K8sTraining.Training.Loop;

/// <summary>A snapshot of progress after each step: what the progress bar, logs, CSV and (later) metrics show.</summary>
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
    long? LastCheckpointStep);

/// <summary>Receives progress; implementations must be cheap, they run on the training thread.</summary>
public interface ITrainingObserver
{
    void OnStep(TrainingProgress progress);

    void OnEpochEnd(EpochMetrics metrics, TrainingProgress progress);

    /// <summary>A line for a person (start, resume, checkpoint, end).</summary>
    void OnMessage(string message);
}
