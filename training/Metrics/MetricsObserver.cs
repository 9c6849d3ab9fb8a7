using K8sTraining.Training.Loop;

namespace K8sTraining.Training.Metrics;

/// <summary>Feeds the loop's progress into <see cref="TrainerMetrics"/>; cheap enough for every step.</summary>
public sealed class MetricsObserver(TrainerMetrics trainerMetrics) : ITrainingObserver
{
    public void OnStep(TrainingProgress progress)
    {
        ArgumentNullException.ThrowIfNull(progress);
        trainerMetrics.RecordStep(progress.GlobalStep, progress.Epoch, progress.StepInEpoch, progress.Loss, progress.SamplesPerSecond);
    }

    public void OnEpochEnd(EpochMetrics metrics, TrainingProgress progress)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        trainerMetrics.RecordEpochEnd(metrics.GlobalStep, metrics.Epoch, metrics.TestAccuracy);
    }

    public void OnMessage(string message)
    {
    }
}
