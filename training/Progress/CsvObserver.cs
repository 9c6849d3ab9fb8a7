using System.Globalization;
using K8sTraining.Training.Loop;

namespace K8sTraining.Training.Progress;

/// <summary>
/// The CSV training log: one row every --log-every-steps steps (kind "step") and one per epoch end (kind "epoch", with
/// test accuracy). Appends across resumes; rows after the last checkpoint of an interrupted run appear again when the
/// resumed run repeats those steps (same values, since the run is deterministic).
/// </summary>
public sealed class CsvObserver : ITrainingObserver, IDisposable
{
    public const string Header = "timestamp,kind,epoch,stepInEpoch,globalStep,loss,learningRate,samplesPerSecond,testAccuracy";

    private readonly StreamWriter _writer;
    private readonly int _everySteps;

    public CsvObserver(string path, int everySteps)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var isNew = !File.Exists(full) || new FileInfo(full).Length == 0;
        _writer = new StreamWriter(new FileStream(full, FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };
        _everySteps = everySteps;
        if (isNew)
        {
            _writer.WriteLine(Header);
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
        Row("epoch", metrics.Epoch, progress.StepInEpoch, metrics.GlobalStep, metrics.TrainLoss, metrics.LearningRate, null, metrics.TestAccuracy);
    }

    public void OnMessage(string message)
    {
    }

    public void Dispose() => _writer.Dispose();

    private void Row(string kind, int epoch, int step, long globalStep, double loss, double lr, double? rate, double? accuracy)
    {
        var c = CultureInfo.InvariantCulture;
        _writer.WriteLine(string.Join(',',
            DateTimeOffset.UtcNow.ToString("O", c), kind, epoch.ToString(c), step.ToString(c), globalStep.ToString(c),
            loss.ToString("G6", c), lr.ToString("G6", c), rate?.ToString("F1", c) ?? string.Empty, accuracy?.ToString("F4", c) ?? string.Empty));
    }
}
