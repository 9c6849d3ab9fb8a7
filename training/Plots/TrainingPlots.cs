namespace K8sTraining.Training.Plots;

/// <summary>
/// What one finished epoch looked like, for the plots: NaN where a value does not exist (no validation split, a run
/// recorded before the value was kept). <see cref="TestAccuracy"/> is drawn for runs that measure it at every epoch
/// (those without a validation split).
/// </summary>
public readonly record struct EpochPoint(int Epoch, double WallSeconds, double TrainLoss, double ValidationLoss, double TrainAccuracy, double ValidationAccuracy, double TestAccuracy = double.NaN);

/// <summary>The learning rate and momentum of one optimizer step (NaN momentum where the optimizer has none).</summary>
public readonly record struct SchedulePoint(long Step, double LearningRate, double Momentum);

/// <summary>
/// The PNGs written at every epoch end next to the checkpoints (and synced with them): loss and accuracy against
/// epoch and against wall time, and the learning rate and momentum against the step. Loss is on the left axis,
/// accuracy on the right (dashed).
/// </summary>
public static class TrainingPlots
{
    public const string ByEpochFileName = "metrics-by-epoch.png";
    public const string ByTimeFileName = "metrics-by-time.png";
    public const string ScheduleFileName = "schedule.png";

    private const int Width = 900;
    private const int Height = 500;

    /// <summary>
    /// Writes the three plots into <paramref name="directory"/> and returns their paths. Each file is replaced
    /// atomically (written beside it, then renamed), so a reader or an upload never sees half a PNG.
    /// </summary>
    public static IReadOnlyList<string> Write(string directory, IReadOnlyList<EpochPoint> epochs, IReadOnlyList<SchedulePoint> schedule, string stepAxisLabel = "optimizer step")
    {
        ArgumentNullException.ThrowIfNull(epochs);
        ArgumentNullException.ThrowIfNull(schedule);
        Directory.CreateDirectory(directory);
        var byEpoch = Path.Combine(directory, ByEpochFileName);
        var epochPlot = Metrics(epochs, e => e.Epoch + 1, "epoch");
        epochPlot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        Save(epochPlot, byEpoch);
        var byTime = Path.Combine(directory, ByTimeFileName);
        Save(Metrics(epochs, e => e.WallSeconds / 60, "wall time (minutes of training, across attempts)"), byTime);
        var scheduleFile = Path.Combine(directory, ScheduleFileName);
        Save(Schedule(schedule, stepAxisLabel), scheduleFile);
        return [byEpoch, byTime, scheduleFile];
    }

    private static void Save(ScottPlot.Plot plot, string path)
    {
        var bytes = plot.GetImageBytes(Width, Height, ScottPlot.ImageFormat.Png);
        var temp = Path.Combine(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}.tmp-{Environment.ProcessId}");
        File.WriteAllBytes(temp, bytes);
        File.Move(temp, path, overwrite: true);
    }

    private static ScottPlot.Plot Metrics(IReadOnlyList<EpochPoint> epochs, Func<EpochPoint, double> x, string xLabel)
    {
        var plot = new ScottPlot.Plot();
        var xs = epochs.Select(x).ToArray();
        Line(plot, xs, epochs.Select(e => e.TrainLoss), "train loss", ScottPlot.Colors.Blue, right: false);
        Line(plot, xs, epochs.Select(e => e.ValidationLoss), "validation loss", ScottPlot.Colors.Orange, right: false);
        Line(plot, xs, epochs.Select(e => e.TrainAccuracy), "train accuracy", ScottPlot.Colors.Blue, right: true);
        Line(plot, xs, epochs.Select(e => e.ValidationAccuracy), "validation accuracy", ScottPlot.Colors.Orange, right: true);
        Line(plot, xs, epochs.Select(e => e.TestAccuracy), "test accuracy", ScottPlot.Colors.Green, right: true);
        plot.Title("Loss and accuracy");
        plot.Axes.Bottom.Label.Text = xLabel;
        plot.Axes.Left.Label.Text = "loss";
        plot.Axes.Right.Label.Text = "accuracy (dashed, squares)";
        // Beside the plot, never over the curves.
        plot.ShowLegend(ScottPlot.Edge.Right);
        return plot;
    }

    private static ScottPlot.Plot Schedule(IReadOnlyList<SchedulePoint> schedule, string stepAxisLabel)
    {
        var plot = new ScottPlot.Plot();
        var xs = schedule.Select(s => (double)s.Step).ToArray();
        Line(plot, xs, schedule.Select(s => s.LearningRate), "learning rate", ScottPlot.Colors.Blue, right: false);
        Line(plot, xs, schedule.Select(s => s.Momentum), "momentum", ScottPlot.Colors.Green, right: true);
        plot.Title("Learning rate and momentum");
        plot.Axes.Bottom.Label.Text = stepAxisLabel;
        plot.Axes.Left.Label.Text = "learning rate";
        plot.Axes.Right.Label.Text = "momentum (dashed)";
        plot.ShowLegend(ScottPlot.Edge.Right);
        return plot;
    }

    // A series with no finite point (no validation split, no momentum, no wall time in an old run) is left out rather
    // than drawn empty; single missing points are skipped.
    private static void Line(ScottPlot.Plot plot, double[] xs, IEnumerable<double> values, string label, ScottPlot.Color color, bool right)
    {
        var ys = values.ToArray();
        var keep = Enumerable.Range(0, ys.Length).Where(i => double.IsFinite(ys[i]) && double.IsFinite(xs[i])).ToArray();
        if (keep.Length == 0)
        {
            return;
        }
        var scatter = plot.Add.Scatter(keep.Select(i => xs[i]).ToArray(), keep.Select(i => ys[i]).ToArray());
        scatter.LegendText = label;
        scatter.Color = color;
        scatter.MarkerSize = keep.Length > 50 ? 0 : 5;
        if (right)
        {
            scatter.Axes.YAxis = plot.Axes.Right;
            scatter.LinePattern = ScottPlot.LinePattern.Dashed;
            scatter.MarkerShape = ScottPlot.MarkerShape.OpenSquare;
        }
    }
}
