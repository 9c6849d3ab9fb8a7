using System.Globalization;
using System.Text;
using K8sTraining.Training.LrFinder;

namespace K8sTraining.Training.Plots;

/// <summary>lr-finder.csv and lr-finder.png: every sweep step, and the curve with the suggestion marked.</summary>
public static class LrFinderReport
{
    /// <summary>The folder, inside a checkpoint directory, that lr-find and --lr auto write the report into.</summary>
    public const string FolderName = K8sTraining.Contract.ArtifactLayout.LrFinderFolderName;

    public const string CsvFileName = "lr-finder.csv";
    public const string PngFileName = "lr-finder.png";

    public static string Csv(IReadOnlyList<LrFinderPoint> points, double? suggestion)
    {
        ArgumentNullException.ThrowIfNull(points);
        var csv = new StringBuilder("step,learningRate,loss,smoothedLoss,suggested\n");
        for (var i = 0; i < points.Count; i++)
        {
            var p = points[i];
            csv.Append(CultureInfo.InvariantCulture, $"{i},{p.LearningRate:R},{p.Loss:R},{p.SmoothedLoss:R},{(suggestion == p.LearningRate ? "true" : "false")}\n");
        }
        return csv.ToString();
    }

    /// <summary>Writes the CSV and the PNG into <paramref name="directory"/>; returns their paths.</summary>
    public static (string Csv, string Png) Write(string directory, IReadOnlyList<LrFinderPoint> points, double? suggestion)
    {
        ArgumentNullException.ThrowIfNull(points);
        Directory.CreateDirectory(directory);
        var csvPath = Path.Combine(directory, CsvFileName);
        File.WriteAllText(csvPath, Csv(points, suggestion));
        var pngPath = Path.Combine(directory, PngFileName);
        var plot = new ScottPlot.Plot();
        var xs = points.Select(p => Math.Log10(p.LearningRate)).ToArray();
        var raw = plot.Add.Scatter(xs, points.Select(p => p.Loss).ToArray());
        raw.LegendText = "loss";
        raw.MarkerSize = 0;
        raw.LineWidth = 1;
        raw.Color = ScottPlot.Colors.Gray.WithAlpha(0.5);
        var smooth = plot.Add.Scatter(xs, points.Select(p => p.SmoothedLoss).ToArray());
        smooth.LegendText = "smoothed loss";
        smooth.MarkerSize = 0;
        smooth.LineWidth = 2;
        if (suggestion is { } lr)
        {
            var line = plot.Add.VerticalLine(Math.Log10(lr));
            line.LegendText = $"suggested {lr.ToString("G3", CultureInfo.InvariantCulture)}";
            line.Color = ScottPlot.Colors.Red;
            line.LinePattern = ScottPlot.LinePattern.Dashed;
        }
        plot.Title("Learning-rate finder");
        plot.Axes.Bottom.Label.Text = "log10(learning rate)";
        plot.Axes.Left.Label.Text = "loss";
        var smoothed = points.Select(p => p.SmoothedLoss).Where(double.IsFinite).ToArray();
        if (smoothed.Length > 0)
        {
            // The diverged tail would flatten the interesting part: clip the y axis at 1.5x the first smoothed loss.
            plot.Axes.SetLimitsY(Math.Min(smoothed.Min(), points.Min(p => p.Loss)) * 0.95, Math.Max(smoothed[0], smoothed.Min()) * 1.5);
        }
        plot.ShowLegend();
        plot.SavePng(pngPath, 800, 500);
        return (csvPath, pngPath);
    }
}
