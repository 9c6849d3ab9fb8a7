using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using K8sTraining.Contract;
using K8sTraining.Training.Loop;

namespace K8sTraining.Training.Progress;

/// <summary>
/// The human training log (<c>training-log.txt</c> in the checkpoint directory): one line per epoch, a line where the run
/// started, each resume and each stop, and a closing block when the run completes (best and last checkpoint, final test
/// accuracy, total training time).
/// </summary>
/// <remarks>
/// Each epoch appears once, the first time it finished: a resumed run that repeats an epoch (the pod was preempted after
/// the epoch ended but before a checkpoint covered it) does not write it again, since the run is deterministic and the
/// line would say the same. A log that lost epochs (a new log on a resumed run whose log could not be restored) gets
/// them back from the checkpoint's history, before the resume line. The file is opened when the run starts, so a log
/// restored from the remote store just before is continued.
/// </remarks>
public sealed partial class TextLogObserver(string path, TimeProvider? time = null) : ITrainingObserver, IDisposable
{
    private readonly string _path = Path.GetFullPath(path);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly HashSet<int> _written = [];
    private StreamWriter? _writer;
    private TrainingRunInfo _run = new([], false, []);
    private EpochMetrics? _last;
    private int _attempts;
    private bool _sawStart;

    /// <summary>The first line of a new log.</summary>
    public const string Title = "# K8sTraining training log: one line per epoch (epochs 1-based, wall = training time across attempts); resumes, stops and the end marked.";

    public void OnStart(TrainingRunInfo run)
    {
        ArgumentNullException.ThrowIfNull(run);
        _run = run;
        if (_writer is not null)
        {
            return;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        var existing = File.Exists(_path) ? File.ReadAllLines(_path) : [];
        foreach (var line in existing)
        {
            if (EpochLine().Match(line) is { Success: true } m && int.TryParse(m.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var epoch))
            {
                _written.Add(epoch - 1);
            }
            else if (line.StartsWith(StartedMark, StringComparison.Ordinal) || line.StartsWith(ResumedMark, StringComparison.Ordinal))
            {
                _sawStart |= line.StartsWith(StartedMark, StringComparison.Ordinal);
                _attempts++;
            }
        }
        var endsWithNewLine = existing.Length == 0 || new FileInfo(_path).Length == 0 || EndsWithNewLine(_path);
        _writer = new StreamWriter(new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };
        if (!endsWithNewLine)
        {
            _writer.WriteLine();
        }
        if (existing.Length == 0)
        {
            _writer.WriteLine(Title);
        }
        foreach (var epoch in run.History ?? [])
        {
            WriteEpoch(epoch);
        }
        _attempts++;
        // Attempts are counted only in a log that saw the run start (one begun on a resume cannot know the earlier ones).
        _sawStart |= run.ResumedAtStep is null;
        _writer.WriteLine(run.ResumedAtStep is { } step
            ? string.Create(CultureInfo.InvariantCulture, $"{ResumedMark} at global step {step} ({Now()}){(_sawStart ? $", attempt {_attempts}" : "")}")
            : string.Create(CultureInfo.InvariantCulture, $"{StartedMark}: {(run.Epochs > 0 ? run.Epochs.ToString(CultureInfo.InvariantCulture) + " epoch(s)" : "training")} ({Now()})"));
    }

    public void OnStep(TrainingProgress progress)
    {
    }

    public void OnEpochEnd(EpochMetrics metrics, TrainingProgress progress)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        WriteEpoch(metrics);
    }

    public void OnMessage(string message)
    {
    }

    public void OnEnd(TrainingEnd end)
    {
        ArgumentNullException.ThrowIfNull(end);
        if (_writer is null)
        {
            return;
        }
        var c = CultureInfo.InvariantCulture;
        if (!end.Completed)
        {
            _writer.WriteLine(string.Create(c, $"{StoppedMark} at global step {end.GlobalStep} (epoch {end.Epoch + 1}, step {end.StepInEpoch} of it; {Now()}): checkpoint {end.LastCheckpoint ?? "none"}{(end.WallSeconds is null ? "" : ", wall " + Wall(end.WallSeconds))}"));
            return;
        }
        var best = end.Best ?? _last?.Best;
        var text = new StringBuilder();
        text.AppendLine(string.Create(c, $"{EndMark} completed {(_run.Epochs > 0 ? _run.Epochs : end.Epoch)} epoch(s) at global step {end.GlobalStep} ({Now()})"));
        text.AppendLine("best checkpoint:  " + (best is null
            ? "none (no validation split, or --best-metric none)"
            : string.Create(c, $"{CheckpointLayout.DirectoryName(best.GlobalStep)} (epoch {best.Epoch + 1}, {best.Metric} {best.Value:F4}, {best.Weights} weights)")));
        text.AppendLine("last checkpoint:  " + (end.LastCheckpoint ?? "none (no --checkpoint-dir)"));
        text.AppendLine("test accuracy:    " + (end.TestAccuracy is { } accuracy ? accuracy.ToString("F4", c) : "-"));
        text.Append(string.Create(c, $"total wall time:  {Wall(end.WallSeconds ?? _last?.WallSeconds)} (training time{(_sawStart ? $", {_attempts} attempt(s)" : "")})"));
        _writer.WriteLine(text.ToString());
    }

    public void Dispose() => _writer?.Dispose();

    /// <summary>The line of one epoch, e.g. <c>epoch 3/10  step 1407  train loss 0.4123  train acc 0.8512  val acc 0.8790 ...</c>.</summary>
    public static string EpochLineText(EpochMetrics metrics, int epochs)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var c = CultureInfo.InvariantCulture;
        var line = new StringBuilder();
        line.Append(string.Create(c, $"epoch {metrics.Epoch + 1}{(epochs > 0 ? "/" + epochs.ToString(c) : "")}  step {metrics.GlobalStep}  train loss {metrics.TrainLoss:F4}"));
        line.Append("  train acc ").Append(Number(metrics.TrainAccuracy, "F4"));
        line.Append("  val acc ").Append(Number(metrics.ValidationAccuracy, "F4"));
        line.Append("  val loss ").Append(Number(metrics.ValidationLoss, "F4"));
        if (metrics.EmaValidationAccuracy is { } ema)
        {
            line.Append("  ema val acc ").Append(ema.ToString("F4", c));
        }
        if (metrics.TestAccuracy is { } test)
        {
            line.Append("  test acc ").Append(test.ToString("F4", c));
        }
        line.Append("  lr ").Append(metrics.LearningRate.ToString("G4", c));
        line.Append("  momentum ").Append(Number(metrics.Momentum, "G4"));
        line.Append("  mixing ").Append(metrics.MixingMode ?? "-");
        line.Append("  wall ").Append(Wall(metrics.WallSeconds));
        return line.ToString();
    }

    /// <summary>Seconds as h:mm:ss (hours beyond 24 kept), or "-" when unknown.</summary>
    public static string Wall(double? seconds)
    {
        if (seconds is not { } s || !double.IsFinite(s) || s < 0)
        {
            return "-";
        }
        var time = TimeSpan.FromSeconds(Math.Round(s));
        return string.Create(CultureInfo.InvariantCulture, $"{(long)time.TotalHours}:{time.Minutes:00}:{time.Seconds:00}");
    }

    private const string StartedMark = "--- started";
    private const string ResumedMark = "--- resumed";
    private const string StoppedMark = "--- stopped";
    private const string EndMark = "===";

    private void WriteEpoch(EpochMetrics metrics)
    {
        _last = metrics;
        if (_writer is null || !_written.Add(metrics.Epoch))
        {
            return;
        }
        _writer.WriteLine(EpochLineText(metrics, _run.Epochs));
    }

    private string Now() => _time.GetUtcNow().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string Number(double? value, string format) => value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "-";

    private static bool EndsWithNewLine(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        stream.Seek(-1, SeekOrigin.End);
        return stream.ReadByte() == '\n';
    }

    [GeneratedRegex(@"^epoch (\d+)\b")]
    private static partial Regex EpochLine();
}
