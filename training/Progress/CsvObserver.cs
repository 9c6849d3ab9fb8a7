using System.Globalization;
using System.Text;
using K8sTraining.Training.Loop;

namespace K8sTraining.Training.Progress;

/// <summary>
/// The CSV training log: one row every --log-every-steps steps (kind "step") and one per epoch end (kind "epoch", with
/// test and validation accuracy, per-class accuracy and the task's metrics). Appends across resumes; rows after the last
/// checkpoint of an interrupted run appear again when the resumed run repeats those steps (same values, since the run
/// is deterministic). The header is written when the file is new, once the run knows its classes.
/// </summary>
public sealed class CsvObserver : ITrainingObserver, IDisposable
{
    /// <summary>The first columns, in this order, in every log.</summary>
    public const string Header = "timestamp,kind,epoch,stepInEpoch,globalStep,loss,learningRate,samplesPerSecond,testAccuracy";

    /// <summary>After <see cref="Header"/>: validation accuracy (empty without a validation split).</summary>
    public const string ValidationAccuracyColumn = "validationAccuracy";

    /// <summary>After it, one column per class: this prefix and the class name (per-class accuracy on validation, else test).</summary>
    public const string ClassAccuracyColumnPrefix = "classAccuracy.";

    private readonly StreamWriter _writer;
    private readonly int _everySteps;
    private readonly bool _isNew;
    private TrainingRunInfo _run = new([], false, []);
    private bool _started;

    public CsvObserver(string path, int everySteps)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        _isNew = !File.Exists(full) || new FileInfo(full).Length == 0;
        _writer = new StreamWriter(new FileStream(full, FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };
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
        ];
    }

    public void OnStart(TrainingRunInfo run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var first = !_started;
        _started = true;
        _run = run;
        if (_isNew && first)
        {
            _writer.WriteLine(string.Join(',', Columns(run)));
        }
    }

    public void OnStep(TrainingProgress progress)
    {
        ArgumentNullException.ThrowIfNull(progress);
        if (progress.GlobalStep % _everySteps == 0)
        {
            Row("step", progress.Epoch, progress.StepInEpoch, progress.GlobalStep, progress.Loss, progress.LearningRate, progress.SamplesPerSecond, null);
        }
    }

    public void OnEpochEnd(EpochMetrics metrics, TrainingProgress progress)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(progress);
        Row("epoch", metrics.Epoch, progress.StepInEpoch, metrics.GlobalStep, metrics.TrainLoss, metrics.LearningRate, null, metrics);
    }

    public void OnMessage(string message)
    {
    }

    public void Dispose() => _writer.Dispose();

    private void Row(string kind, int epoch, int step, long globalStep, double loss, double lr, double? rate, EpochMetrics? metrics)
    {
        var c = CultureInfo.InvariantCulture;
        var row = new StringBuilder();
        row.AppendJoin(',',
            DateTimeOffset.UtcNow.ToString("O", c), kind, epoch.ToString(c), step.ToString(c), globalStep.ToString(c),
            loss.ToString("G6", c), lr.ToString("G6", c), rate?.ToString("F1", c) ?? string.Empty, metrics?.TestAccuracy?.ToString("F4", c) ?? string.Empty);
        row.Append(',').Append(metrics?.ValidationAccuracy?.ToString("F4", c));
        for (var i = 0; i < _run.ClassNames.Count; i++)
        {
            row.Append(',').Append(metrics?.ClassAccuracy is { } perClass && i < perClass.Count ? perClass[i]?.ToString("F4", c) : null);
        }
        foreach (var name in _run.MetricNames)
        {
            foreach (var split in new[] { "validation.", "test." })
            {
                row.Append(',').Append(metrics?.Metrics is { } extra && extra.TryGetValue(split + name, out var value) ? value.ToString("G6", c) : null);
            }
        }
        _writer.WriteLine(row.ToString());
    }

    /// <summary>A class or metric name as a header cell: no commas, quotes or line breaks.</summary>
    private static string Sanitize(string name) => string.Concat(name.Select(ch => ch is ',' or '"' or '\n' or '\r' ? '_' : ch));
}
