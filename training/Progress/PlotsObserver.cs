using K8sTraining.Training.Loop;
using K8sTraining.Training.Plots;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace K8sTraining.Training.Progress;

/// <summary>
/// Redraws the run's plots (<see cref="TrainingPlots"/>) into <c>&lt;checkpoint-dir&gt;/plots/</c> at every epoch end:
/// the whole run after any number of resumes, from the epochs before this attempt (the checkpoint's history) and those
/// it finished, and the schedule of every optimizer step up to now. A plot that cannot be drawn costs a warning, never
/// the run.
/// </summary>
public sealed partial class PlotsObserver(string directory, ILogger<PlotsObserver>? logger = null) : ITrainingObserver
{
    /// <summary>At most this many points of the schedule are drawn (evenly spaced, the last one always).</summary>
    public const int MaxSchedulePoints = 2000;

    private readonly ILogger _logger = logger ?? NullLogger<PlotsObserver>.Instance;
    private readonly SortedDictionary<int, EpochMetrics> _epochs = [];
    private TrainingRunInfo _run = new([], false, []);
    private bool _warned;

    /// <summary>Where the plots go.</summary>
    public string PlotsDirectory { get; } = Path.GetFullPath(directory);

    public void OnStart(TrainingRunInfo run)
    {
        ArgumentNullException.ThrowIfNull(run);
        _run = run;
        foreach (var epoch in run.History ?? [])
        {
            _epochs[epoch.Epoch] = epoch;
        }
    }

    public void OnStep(TrainingProgress progress)
    {
    }

    public void OnEpochEnd(EpochMetrics metrics, TrainingProgress progress)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        // A repeated epoch (resumed from before its end) replaces the first: same values, the run being deterministic.
        _epochs[metrics.Epoch] = metrics;
        var epochs = _epochs.Values.ToList();
        try
        {
            TrainingPlots.Write(PlotsDirectory, EpochPoints(epochs), SchedulePoints(_run, epochs), _run.Schedule is null ? "global step" : "optimizer step");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            if (!_warned)
            {
                _warned = true;
                LogPlotFailed(_logger, PlotsDirectory, e.Message);
            }
        }
    }

    public void OnMessage(string message)
    {
    }

    /// <summary>The epochs as plot points, in order; NaN for what an epoch did not record.</summary>
    public static IReadOnlyList<EpochPoint> EpochPoints(IEnumerable<EpochMetrics> epochs)
    {
        ArgumentNullException.ThrowIfNull(epochs);
        return epochs
            .GroupBy(e => e.Epoch)
            .Select(g => g.Last())
            .OrderBy(e => e.Epoch)
            .Select(e => new EpochPoint(
                e.Epoch,
                e.WallSeconds ?? double.NaN,
                e.TrainLoss,
                e.ValidationLoss ?? double.NaN,
                e.TrainAccuracy ?? double.NaN,
                e.ValidationAccuracy ?? double.NaN,
                e.TestAccuracy ?? double.NaN))
            .ToList();
    }

    /// <summary>
    /// The learning rate and momentum of every optimizer step done by the end of the last epoch (at most
    /// <paramref name="maxPoints"/>, evenly spaced), from the run's schedule; a schedule that leaves momentum alone has the
    /// optimizer's constant momentum (the last epoch's). Without a schedule (a loop that does not give one): the learning
    /// rate and momentum each epoch recorded, at its last global step.
    /// </summary>
    public static IReadOnlyList<SchedulePoint> SchedulePoints(TrainingRunInfo run, IReadOnlyList<EpochMetrics> epochs, int maxPoints = MaxSchedulePoints)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(epochs);
        if (epochs.Count == 0)
        {
            return [];
        }
        var last = epochs.MaxBy(e => e.Epoch)!;
        var constantMomentum = last.Momentum ?? double.NaN;
        if (run.Schedule is not { } schedule || run.OptimizerStepsPerEpoch <= 0)
        {
            return epochs.OrderBy(e => e.Epoch).Select(e => new SchedulePoint(e.GlobalStep, e.LearningRate, e.Momentum ?? double.NaN)).ToList();
        }
        var steps = run.OptimizerStepsPerEpoch * (last.Epoch + 1L);
        var stride = Math.Max(1, (steps + maxPoints - 1) / Math.Max(1, maxPoints));
        var points = new List<SchedulePoint>();
        for (var step = 0L; step < steps; step += stride)
        {
            points.Add(Point(step));
        }
        if (points[^1].Step != steps - 1)
        {
            points.Add(Point(steps - 1));
        }
        return points;

        SchedulePoint Point(long step)
        {
            var values = schedule(step);
            return new SchedulePoint(step, values.LearningRate, values.Momentum ?? constantMomentum);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not draw the training plots into {Directory}: {Reason}; training goes on without them")]
    private static partial void LogPlotFailed(ILogger logger, string directory, string reason);
}
