using System.Globalization;
using K8sTraining.Training.Loop;

namespace K8sTraining.Training.Progress;

/// <summary>
/// The CSV training log: one row every --log-every-steps steps (kind "step") and one per epoch end (kind "epoch", with
/// test and validation accuracy, per-class accuracy and the task's metrics). Appends across resumes; rows after the last
/// checkpoint of an interrupted run appear again when the resumed run repeats those steps (same values, since the run
/// is deterministic). The file is opened when the run starts (so a log restored from the remote store just before is
/// continued); the header is written when the file is new, once the run knows its classes. A log that already has a
/// header keeps it: rows follow its columns (a log begun by an older trainer gets no new columns).
/// </summary>
public sealed class CsvObserver : ITrainingObserver, IDisposable
{
    /// <summary>The first columns, in this order, in every log.</summary>
    public const string Header = "timestamp,kind,epoch,stepInEpoch,globalStep,loss,learningRate,samplesPerSecond,testAccuracy";

    /// <summary>After <see cref="Header"/>: validation accuracy (empty without a validation split).</summary>
    public const string ValidationAccuracyColumn = "validationAccuracy";

    /// <summary>After it, one column per class: this prefix and the class name (per-class accuracy on validation, else test).</summary>
    public const string ClassAccuracyColumnPrefix = "classAccuracy.";

    /// <summary>
    /// The last columns, after the task's metrics: the momentum the step (or the epoch's last step) used, the mixing mode
    /// of its batch (or whether the epoch mixed), and at epoch rows the validation loss, the training accuracy and the EMA
    /// weights' validation accuracy (each empty where it does not exist).
    /// </summary>
    public static readonly IReadOnlyList<string> RecipeColumns = ["momentum", "mixingMode", "validationLoss", "trainAccuracy", "emaValidationAccuracy"];

    /// <summary>With --stages, after the recipe columns: the stage's name at each row.</summary>
    public const string StageColumn = "stage";

    private readonly string _path;
    private readonly int _everySteps;
    private StreamWriter? _writer;
    private IReadOnlyList<string> _columns = [];
    private TrainingRunInfo _run = new([], false, []);

    public CsvObserver(string path, int everySteps)
    {
        _path = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        _everySteps = everySteps;
    }

    /// <summary>Every column of a run with these classes and metrics, in order.</summary>
    public static IReadOnlyList<string> Columns(TrainingRunInfo run)
    {
        ArgumentNullException.ThrowIfNull(run);
        return
        [
            .. Header.Split(','),
            ValidationAccuracyColumn,
            .. run.ClassNames.Select(n => ClassAccuracyColumnPrefix + Sanitize(n)),
            .. run.MetricNames.SelectMany(m => new[] { "validation." + Sanitize(m), "test." + Sanitize(m) }),
            .. RecipeColumns,
            .. run.Staged ? [StageColumn] : Array.Empty<string>(),
        ];
    }

    public void OnStart(TrainingRunInfo run)
    {
        ArgumentNullException.ThrowIfNull(run);
        _run = run;
        if (_writer is not null)
        {
            return;
        }
        var existing = ReadHeader(_path);
        var stream = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.Read);
        _writer = new StreamWriter(stream) { AutoFlush = true };
        if (existing is null)
        {
            _columns = Columns(run);
            _writer.WriteLine(string.Join(',', _columns));
            return;
        }
        _columns = existing.Value.Columns;
        if (!existing.Value.EndsWithNewLine)
        {
            // A row torn by a crash mid-write stays a line of its own instead of swallowing the next one.
            _writer.WriteLine();
        }
    }

    public void OnStep(TrainingProgress progress)
    {
        ArgumentNullException.ThrowIfNull(progress);
        if (progress.GlobalStep % _everySteps == 0)
        {
            var c = CultureInfo.InvariantCulture;
            Write(new Dictionary<string, string?>(StringComparer.Ordinal)
            {
                ["kind"] = "step",
                ["epoch"] = progress.Epoch.ToString(c),
                ["stepInEpoch"] = progress.StepInEpoch.ToString(c),
                ["globalStep"] = progress.GlobalStep.ToString(c),
                ["loss"] = progress.Loss.ToString("G6", c),
                ["learningRate"] = progress.LearningRate.ToString("G6", c),
                ["samplesPerSecond"] = progress.SamplesPerSecond.ToString("F1", c),
                ["momentum"] = progress.Momentum?.ToString("G6", c),
                ["mixingMode"] = Sanitize(progress.MixingMode),
                [StageColumn] = progress.Stage,
            });
        }
    }

    public void OnEpochEnd(EpochMetrics metrics, TrainingProgress progress)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(progress);
        var c = CultureInfo.InvariantCulture;
        var row = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["kind"] = "epoch",
            ["epoch"] = metrics.Epoch.ToString(c),
            ["stepInEpoch"] = progress.StepInEpoch.ToString(c),
            ["globalStep"] = metrics.GlobalStep.ToString(c),
            ["loss"] = metrics.TrainLoss.ToString("G6", c),
            ["learningRate"] = metrics.LearningRate.ToString("G6", c),
            ["testAccuracy"] = metrics.TestAccuracy?.ToString("F4", c),
            [ValidationAccuracyColumn] = metrics.ValidationAccuracy?.ToString("F4", c),
            ["momentum"] = metrics.Momentum?.ToString("G6", c),
            ["mixingMode"] = metrics.MixingMode is { } mode ? Sanitize(mode) : null,
            ["validationLoss"] = metrics.ValidationLoss?.ToString("G6", c),
            ["trainAccuracy"] = metrics.TrainAccuracy?.ToString("F4", c),
            ["emaValidationAccuracy"] = metrics.EmaValidationAccuracy?.ToString("F4", c),
            [StageColumn] = progress.Stage,
        };
        for (var i = 0; i < _run.ClassNames.Count; i++)
        {
            row[ClassAccuracyColumnPrefix + Sanitize(_run.ClassNames[i])] = metrics.ClassAccuracy is { } perClass && i < perClass.Count ? perClass[i]?.ToString("F4", c) : null;
        }
        foreach (var (name, value) in metrics.Metrics ?? new Dictionary<string, double>())
        {
            row[Sanitize(name)] = value.ToString("G6", c);
        }
        Write(row);
    }

    public void OnMessage(string message)
    {
    }

    public void Dispose() => _writer?.Dispose();

    /// <summary>The header of an existing, non-empty log and whether its last line is complete; null for a new log.</summary>
    private static (IReadOnlyList<string> Columns, bool EndsWithNewLine)? ReadHeader(string path)
    {
        if (!File.Exists(path) || new FileInfo(path).Length == 0)
        {
            return null;
        }
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        stream.Seek(-1, SeekOrigin.End);
        var endsWithNewLine = stream.ReadByte() == '\n';
        stream.Seek(0, SeekOrigin.Begin);
        using var reader = new StreamReader(stream);
        var header = reader.ReadLine() ?? string.Empty;
        return (header.Split(','), endsWithNewLine);
    }

    private void Write(Dictionary<string, string?> values)
    {
        if (_writer is null)
        {
            return;
        }
        values["timestamp"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture);
        _writer.WriteLine(string.Join(',', _columns.Select(column => values.GetValueOrDefault(column))));
    }

    /// <summary>A class or metric name as a header cell: no commas, quotes or line breaks.</summary>
    private static string Sanitize(string name) => string.Concat(name.Select(ch => ch is ',' or '"' or '\n' or '\r' ? '_' : ch));
}
