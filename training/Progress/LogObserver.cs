using K8sTraining.Training.Loop;
using Microsoft.Extensions.Logging;

namespace K8sTraining.Training.Progress;

/// <summary>Structured log lines (for pods and pipes): every --log-every-steps steps, each epoch end, each message.</summary>
public sealed partial class LogObserver(int everySteps, ILogger<LogObserver> logger) : ITrainingObserver
{
    private IReadOnlyList<string>? _classNames;

    public void OnStart(TrainingRunInfo run)
    {
        ArgumentNullException.ThrowIfNull(run);
        _classNames = run.ClassNames;
    }

    public void OnStep(TrainingProgress progress)
    {
        ArgumentNullException.ThrowIfNull(progress);
        if (progress.GlobalStep % everySteps == 0 && progress.Stage is { } stage)
        {
            LogStageStep(logger, stage, progress.Epoch, progress.StepInEpoch, progress.StepsPerEpoch, progress.GlobalStep, progress.TotalSteps, progress.Loss, progress.LearningRate, progress.SamplesPerSecond, progress.EstimatedRemaining?.ToString(@"hh\:mm\:ss", System.Globalization.CultureInfo.InvariantCulture) ?? "-");
        }
        else if (progress.GlobalStep % everySteps == 0)
        {
            LogStep(logger, progress.Epoch, progress.StepInEpoch, progress.StepsPerEpoch, progress.GlobalStep, progress.TotalSteps, progress.Loss, progress.LearningRate, progress.SamplesPerSecond, progress.EstimatedRemaining?.ToString(@"hh\:mm\:ss", System.Globalization.CultureInfo.InvariantCulture) ?? "-");
        }
    }

    public void OnEpochEnd(EpochMetrics metrics, TrainingProgress progress)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        LogEpoch(logger, metrics.Epoch, metrics.GlobalStep, metrics.TrainLoss, metrics.LearningRate, metrics.TestAccuracy?.ToString("F4", System.Globalization.CultureInfo.InvariantCulture) ?? "read at the end");
        if (EpochReport.Details(metrics, _classNames) is { Length: > 0 } details)
        {
            LogEpochDetails(logger, metrics.Epoch, details);
        }
    }

    public void OnMessage(string message) => LogMessage(logger, message);

    [LoggerMessage(Level = LogLevel.Information, Message = "Epoch {Epoch} step {StepInEpoch}/{StepsPerEpoch} (global {GlobalStep}/{TotalSteps}) loss {Loss:F4} lr {LearningRate:G3} {SamplesPerSecond:F0} samples/s ETA {Eta}")]
    private static partial void LogStep(ILogger logger, int epoch, int stepInEpoch, int stepsPerEpoch, long globalStep, long totalSteps, double loss, double learningRate, double samplesPerSecond, string eta);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stage {Stage} epoch {Epoch} step {StepInEpoch}/{StepsPerEpoch} (global {GlobalStep}/{TotalSteps}) loss {Loss:F4} lr {LearningRate:G3} {SamplesPerSecond:F0} samples/s ETA {Eta}")]
    private static partial void LogStageStep(ILogger logger, string stage, int epoch, int stepInEpoch, int stepsPerEpoch, long globalStep, long totalSteps, double loss, double learningRate, double samplesPerSecond, string eta);

    [LoggerMessage(Level = LogLevel.Information, Message = "Epoch {Epoch} done at global step {GlobalStep}: train loss {TrainLoss:F4}, lr {LearningRate:G3}, test accuracy {TestAccuracy}")]
    private static partial void LogEpoch(ILogger logger, int epoch, long globalStep, double trainLoss, double learningRate, string testAccuracy);

    [LoggerMessage(Level = LogLevel.Information, Message = "Epoch {Epoch}: {Details}")]
    private static partial void LogEpochDetails(ILogger logger, int epoch, string details);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Message}")]
    private static partial void LogMessage(ILogger logger, string message);
}
