using System.Globalization;
using System.Text.Json;
using K8sTraining.Contract;
using K8sTraining.Training.Loop;
using K8sTraining.Training.Options;
using K8sTraining.Training.Plots;

namespace K8sTraining.Training.Commands;

/// <summary>
/// <c>evaluate</c>: a checkpoint's weights on the test split: accuracy, loss, per-class accuracy, the confusion matrix
/// (CSV and PNG) and evaluation.json.
/// </summary>
public sealed class EvaluateCommand : ITrainerCommand
{
    public const string JsonFileName = "evaluation.json";

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = true };

    public string Name => "evaluate";

    public string Synopsis => $"--checkpoint best|latest|{CheckpointLayout.DirectoryPrefix}N (--checkpoint-dir DIR | --checkpoint-uri s3://bucket/prefix) [--weights raw|ema] [--output-dir DIR] [train data and model flags]";

    public string Summary => "Evaluates a checkpoint on the test split: accuracy, loss, per-class accuracy, confusion matrix.";

    public IReadOnlyList<(string Flag, string Value, string Default, string Help)> Flags { get; } =
    [
        .. CheckpointChoice.Flags,
        ("--output-dir", "DIR", ".", $"where {ConfusionMatrixReport.CsvFileName}, {ConfusionMatrixReport.PngFileName} and {JsonFileName} go"),
    ];

    public async Task<int> RunAsync(TrainerOptions options, IReadOnlyDictionary<string, string> own, TextWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(own);
        ArgumentNullException.ThrowIfNull(output);
        var choice = CheckpointChoice.From(options, own);
        var directory = own.GetValueOrDefault("--output-dir") ?? ".";
        using var scratch = new ScratchDirectory(Name);
        var checkpoint = await choice.ResolveAsync(scratch.Path, cancellationToken).ConfigureAwait(false);
        var weights = choice.WeightsOf(checkpoint);
        var weightsFile = choice.WeightsFile(checkpoint);
        using var built = CommandModel.Build(options, split: false);
        built.LoadWeights(weightsFile, options);
        cancellationToken.ThrowIfCancellationRequested();
        var tally = new EvaluationTally(built.Classes, built.Loss);
        var test = built.Data.Test;
        var result = Evaluation.Run(built.Model, test, built.Classes, [tally], options.Seed, checkpoint.Manifest.Epoch, options.LoaderWorkers, options.PrefetchBatches);
        var names = built.ClassNames;
        var report = new EvaluationReport(
            CheckpointLayout.IsRemote(choice.Source) ? CheckpointLayout.Location(choice.Source, checkpoint.Manifest.GlobalStep) : checkpoint.Directory,
            checkpoint.Manifest.GlobalStep,
            checkpoint.Manifest.Epoch,
            weights,
            test.Count,
            result.Accuracy,
            tally.Result(),
            names.Select((name, c) => new ClassEvaluation(name, Enumerable.Range(0, built.Classes).Sum(p => tally.Confusion[c, p]), result.ClassAccuracy[c])).ToList());
        Directory.CreateDirectory(directory);
        var (csv, png) = ConfusionMatrixReport.Write(directory, tally.Confusion, names);
        var json = Path.Combine(directory, JsonFileName);
        AtomicFile.WriteText(json, JsonSerializer.Serialize(report, Json) + "\n");
        await output.WriteAsync(Text(report)).ConfigureAwait(false);
        await output.WriteLineAsync($"Wrote {csv}, {png} and {json}").ConfigureAwait(false);
        return TrainerExitCodes.Completed;
    }

    /// <summary>The lines a person reads: which checkpoint, accuracy and loss, then one line per class.</summary>
    public static string Text(EvaluationReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var lines = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture, $"Checkpoint {report.Checkpoint} (global step {report.GlobalStep}, epoch {report.Epoch}, {report.Weights} weights)"),
            string.Create(CultureInfo.InvariantCulture, $"Test accuracy {report.Accuracy:F4}, loss {report.Loss:F4} over {report.Samples} samples"),
        };
        var width = Math.Max(5, report.Classes.Max(c => c.Name.Length));
        lines.AddRange(report.Classes.Select(c => string.Create(CultureInfo.InvariantCulture,
            $"  {c.Name.PadRight(width)}  {(c.Accuracy is { } a ? a.ToString("F4", CultureInfo.InvariantCulture) : "-"),6}  ({c.Samples} samples)")));
        return string.Join('\n', lines) + "\n";
    }
}

/// <summary>evaluation.json: the checkpoint evaluated and what the test split measured.</summary>
public sealed record EvaluationReport(string Checkpoint, long GlobalStep, int Epoch, string Weights, int Samples, double Accuracy, double Loss, IReadOnlyList<ClassEvaluation> Classes);

/// <summary>One class of the test split: its samples and the share of them predicted right (null without samples).</summary>
public sealed record ClassEvaluation(string Name, long Samples, double? Accuracy);
