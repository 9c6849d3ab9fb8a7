using K8sTraining.Contract;
using K8sTraining.Training.Loop;

namespace K8sTraining.Training.Metrics;

/// <summary>Feeds the loop's progress into <see cref="TrainerMetrics"/>; cheap enough for every step.</summary>
public sealed class MetricsObserver(TrainerMetrics trainerMetrics) : ITrainingObserver
{
    private double? _best;

    public void OnStart(TrainingRunInfo run)
    {
        ArgumentNullException.ThrowIfNull(run);
        foreach (var epoch in run.History ?? [])
        {
            _best = BestValidationAccuracy(_best, epoch);
        }
        trainerMetrics.RecordBestValidationAccuracy(_best);
        if (run.History is { Count: > 0 } history)
        {
            trainerMetrics.RecordValidationAccuracy(Accuracy(history[^1]));
        }
    }

    public void OnStep(TrainingProgress progress)
    {
        ArgumentNullException.ThrowIfNull(progress);
        trainerMetrics.RecordStep(progress.GlobalStep, progress.Epoch, progress.StepInEpoch, progress.Loss, progress.SamplesPerSecond);
        trainerMetrics.RecordLearningRate(progress.LearningRate);
    }

    public void OnEpochEnd(EpochMetrics metrics, TrainingProgress progress)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        trainerMetrics.RecordEpochEnd(metrics.GlobalStep, metrics.Epoch, Accuracy(metrics));
        _best = BestValidationAccuracy(_best, metrics);
        trainerMetrics.RecordBestValidationAccuracy(_best);
    }

    public void OnMessage(string message)
    {
    }

    /// <summary>What the accuracy gauge shows for an epoch: validation accuracy, or test accuracy for a run without a validation split.</summary>
    public static double? Accuracy(EpochMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        return metrics.ValidationAccuracy ?? metrics.TestAccuracy;
    }

    /// <summary>
    /// The best validation accuracy after <paramref name="epoch"/>, given the best before it: the best checkpoint's value
    /// when it is chosen by validation accuracy (what a user loads), else the highest validation accuracy of the raw
    /// weights so far; null while no epoch had a validation split.
    /// </summary>
    public static double? BestValidationAccuracy(double? before, EpochMetrics epoch)
    {
        ArgumentNullException.ThrowIfNull(epoch);
        if (epoch.Best is { Metric: BestMetricNames.ValidationAccuracy } best)
        {
            return best.Value;
        }
        return (before, epoch.ValidationAccuracy) switch
        {
            ({ } b, { } v) => Math.Max(b, v),
            (null, { } v) => v,
            _ => before,
        };
    }
}
