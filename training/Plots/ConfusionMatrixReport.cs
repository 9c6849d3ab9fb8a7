using System.Globalization;
using System.Text;

namespace K8sTraining.Training.Plots;

/// <summary>confusion-matrix.csv and confusion-matrix.png: test samples counted by actual class (row) and predicted class (column).</summary>
public static class ConfusionMatrixReport
{
    public const string CsvFileName = "confusion-matrix.csv";
    public const string PngFileName = "confusion-matrix.png";

    /// <summary>A header of predicted class names, then one row per actual class: its name and its counts.</summary>
    public static string Csv(long[,] counts, IReadOnlyList<string> classNames)
    {
        Check(counts, classNames);
        var csv = new StringBuilder("actual\\predicted");
        foreach (var name in classNames)
        {
            csv.Append(',').Append(CsvField(name));
        }
        csv.Append('\n');
        for (var row = 0; row < classNames.Count; row++)
        {
            csv.Append(CsvField(classNames[row]));
            for (var column = 0; column < classNames.Count; column++)
            {
                csv.Append(',').Append(counts[row, column].ToString(CultureInfo.InvariantCulture));
            }
            csv.Append('\n');
        }
        return csv.ToString();
    }

    /// <summary>Writes the CSV and the PNG (a heatmap with the count in every cell) into <paramref name="directory"/>.</summary>
    public static (string Csv, string Png) Write(string directory, long[,] counts, IReadOnlyList<string> classNames)
    {
        Check(counts, classNames);
        Directory.CreateDirectory(directory);
        var csvPath = Path.Combine(directory, CsvFileName);
        File.WriteAllText(csvPath, Csv(counts, classNames));
        var pngPath = Path.Combine(directory, PngFileName);
        var n = classNames.Count;
        // Each row as a share of its class's samples: a small class's mistakes stay as visible as a large one's.
        var shares = new double[n, n];
        for (var row = 0; row < n; row++)
        {
            var total = Enumerable.Range(0, n).Sum(c => counts[row, c]);
            for (var column = 0; column < n; column++)
            {
                shares[row, column] = total == 0 ? 0 : (double)counts[row, column] / total;
            }
        }
        var plot = new ScottPlot.Plot();
        var heatmap = plot.Add.Heatmap(shares);
        // White for none of the class, dark blue for all of it.
        heatmap.Colormap = new ReversedColormap(new ScottPlot.Colormaps.Blues());
        heatmap.ManualRange = new ScottPlot.Range(0, 1);
        // Row 0 of the array is drawn at the top: cell (row, column) is centred on x = column, y = n - 1 - row.
        heatmap.Rectangle = new ScottPlot.CoordinateRect(-0.5, n - 0.5, -0.5, n - 0.5);
        for (var row = 0; row < n; row++)
        {
            for (var column = 0; column < n; column++)
            {
                var text = plot.Add.Text(counts[row, column].ToString(CultureInfo.InvariantCulture), column, n - 1 - row);
                text.LabelAlignment = ScottPlot.Alignment.MiddleCenter;
                text.LabelFontSize = n > 20 ? 8 : 12;
                text.LabelFontColor = shares[row, column] > 0.5 ? ScottPlot.Colors.White : ScottPlot.Colors.Black;
            }
        }
        var positions = Enumerable.Range(0, n).Select(i => (double)i).ToArray();
        plot.Axes.Bottom.SetTicks(positions, classNames.ToArray());
        if (classNames.Any(name => name.Length > 3))
        {
            plot.Axes.Bottom.TickLabelStyle.Rotation = 45;
            plot.Axes.Bottom.TickLabelStyle.Alignment = ScottPlot.Alignment.MiddleLeft;
        }
        plot.Axes.Left.SetTicks(positions.Select(p => n - 1 - p).ToArray(), classNames.ToArray());
        plot.Axes.Bottom.Label.Text = "predicted class";
        plot.Axes.Left.Label.Text = "actual class";
        plot.Axes.SetLimits(-0.5, n - 0.5, -0.5, n - 0.5);
        plot.Add.ColorBar(heatmap);
        plot.Title("Confusion matrix (test split; colour: share of the actual class)");
        var size = Math.Clamp(120 + (n * 60), 500, 1600);
        plot.SavePng(pngPath, size + 120, size);
        return (csvPath, pngPath);
    }

    private static void Check(long[,] counts, IReadOnlyList<string> classNames)
    {
        ArgumentNullException.ThrowIfNull(counts);
        ArgumentNullException.ThrowIfNull(classNames);
        if (counts.GetLength(0) != classNames.Count || counts.GetLength(1) != classNames.Count)
        {
            throw new ArgumentException($"A {counts.GetLength(0)}x{counts.GetLength(1)} matrix for {classNames.Count} classes.", nameof(counts));
        }
    }

    private static string CsvField(string value) =>
        value.AsSpan().IndexOfAny(",\"\n\r") >= 0 ? $"\"{value.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : value;
}

/// <summary>A colormap read from its other end.</summary>
internal sealed class ReversedColormap(ScottPlot.IColormap colormap) : ScottPlot.IColormap
{
    public string Name => colormap.Name + " (reversed)";

    public ScottPlot.Color GetColor(double normalizedIntensity) => colormap.GetColor(1 - normalizedIntensity);
}
