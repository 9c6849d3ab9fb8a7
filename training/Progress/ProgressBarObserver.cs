using System.Globalization;
using K8sTraining.Training.Loop;
using Spectre.Console;

namespace K8sTraining.Training.Progress;

/// <summary>A Spectre.Console progress bar (epoch, step, loss, learning rate, samples/s, ETA) for a person at a terminal.</summary>
public sealed class ProgressBarObserver(ProgressTask task) : ITrainingObserver
{
    private long _lastRender = -1;
    private IReadOnlyList<string>? _classNames;

    /// <summary>Runs <paramref name="body"/> with a live progress bar on the terminal.</summary>
    public static async Task<T> RunAsync<T>(Func<ITrainingObserver, Task<T>> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        return await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async ctx => await body(new ProgressBarObserver(ctx.AddTask("training", maxValue: 1))).ConfigureAwait(false))
            .ConfigureAwait(false);
    }

    public void OnStart(TrainingRunInfo run)
    {
        ArgumentNullException.ThrowIfNull(run);
        _classNames = run.ClassNames;
    }

    public void OnStep(TrainingProgress progress)
    {
        ArgumentNullException.ThrowIfNull(progress);
        task.MaxValue = progress.TotalSteps;
        task.Value = progress.GlobalStep;
        if (progress.GlobalStep - _lastRender >= 10 || progress.StepInEpoch == progress.StepsPerEpoch)
        {
            _lastRender = progress.GlobalStep;
            task.Description = string.Create(CultureInfo.InvariantCulture,
                $"epoch {progress.Epoch + 1}/{progress.Epochs} step {progress.StepInEpoch}/{progress.StepsPerEpoch} loss {progress.Loss:F4} lr {progress.LearningRate:G3} {progress.SamplesPerSecond:F0} samples/s");
        }
    }

    public void OnEpochEnd(EpochMetrics metrics, TrainingProgress progress)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"[green]epoch {metrics.Epoch}[/] done at global step {metrics.GlobalStep}: train loss {metrics.TrainLoss:F4}, lr {metrics.LearningRate:G3}, test accuracy [bold]{metrics.TestAccuracy?.ToString("F4", CultureInfo.InvariantCulture) ?? "-"}[/]");
        if (EpochReport.Details(metrics, _classNames) is { Length: > 0 } details)
        {
            AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"  {details}");
        }
    }

    public void OnMessage(string message) => AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"{message}");
}
