using System.Globalization;
using K8sTraining.Training.LrFinder;
using K8sTraining.Training.Options;
using K8sTraining.Training.Plots;

namespace K8sTraining.Training.Commands;

/// <summary>
/// <c>lr-find</c>: the learning-rate sweep <c>train --lr auto</c> runs, on its own: the network and training split as
/// train builds them, then lr-finder.csv, lr-finder.png and the suggestion.
/// </summary>
public sealed class LrFindCommand : ITrainerCommand
{
    public string Name => "lr-find";

    public string Synopsis => "[train flags] [--output-dir DIR]";

    public string Summary => "Sweeps the learning rate exponentially (--lr-find-steps/-start/-end) on the network train would build and suggests one.";

    public IReadOnlyList<(string Flag, string Value, string Default, string Help)> Flags { get; } =
    [
        ("--output-dir", "DIR", $"<checkpoint-dir>/{LrFinderReport.FolderName}, else ./{LrFinderReport.FolderName}", $"where {LrFinderReport.CsvFileName} and {LrFinderReport.PngFileName} go"),
    ];

    /// <summary>Where the report goes: --output-dir, else the checkpoint directory's report folder, else ./lr-finder.</summary>
    public static string OutputDirectory(TrainerOptions options, IReadOnlyDictionary<string, string> own)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(own);
        return own.GetValueOrDefault("--output-dir") ?? Path.Combine(options.CheckpointDirectory ?? ".", LrFinderReport.FolderName);
    }

    public async Task<int> RunAsync(TrainerOptions options, IReadOnlyDictionary<string, string> own, TextWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        var directory = OutputDirectory(options, own);
        using var built = CommandModel.Build(options, split: true);
        await output.WriteLineAsync($"Sweeping the learning rate from {options.LrFindStart.ToString("G3", CultureInfo.InvariantCulture)} to {options.LrFindEnd.ToString("G3", CultureInfo.InvariantCulture)} over {options.LrFindSteps} steps of {options.BatchSize} samples ({options.Model} on {options.Dataset}, {built.Data.Train.Count} training samples)").ConfigureAwait(false);
        var result = LrFinderRunner.Run(built.Model, built.Data.Train, built.Loss, options, cancellationToken);
        var (csv, png) = LrFinderReport.Write(directory, result.Points, result.Suggestion);
        var stopped = result.Points.Count < options.LrFindSteps ? $" (stopped at step {result.Points.Count}: the loss diverged)" : "";
        await output.WriteLineAsync($"Wrote {csv} and {png}{stopped}").ConfigureAwait(false);
        await output.WriteLineAsync(result.Suggestion is { } lr
            ? $"Suggested learning rate ({options.LrFindRule} rule): {lr.ToString("R", CultureInfo.InvariantCulture)}"
            : "No suggestion: the smoothed loss never fell. Widen the sweep (--lr-find-start, --lr-find-end) or give it more steps (--lr-find-steps).").ConfigureAwait(false);
        return K8sTraining.Contract.TrainerExitCodes.Completed;
    }
}
