using System.Diagnostics.Metrics;
using K8sTraining.Contract;

namespace K8sTraining.Training.Metrics;

/// <summary>
/// The trainer's instruments (meter "K8sTraining.Trainer"), exported on --metrics-port by <see cref="TrainerMetricsServer"/>.
/// One instance per run, registered by <see cref="TrainerMetricsServiceCollectionExtensions.AddTrainerMetrics"/> and
/// handed to the loop, the checkpoint writer's callback and the S3 store.
/// </summary>
/// <remarks>
/// Recording costs one line at each call site and nothing when no exporter listens. Every series carries only
/// job_namespace and job_name (--job-namespace / --job-name, which the operator sets as TRAINER_JOB_NAMESPACE /
/// TRAINER_JOB_NAME): never a pod, a step or a secret. The names avoid Prometheus's own "job" and "namespace" target
/// labels, which a scrape would otherwise rename to exported_*.
/// </remarks>
public sealed class TrainerMetrics
{
    public const string MeterName = "K8sTraining.Trainer";

    /// <summary>Checkpoint save and upload durations: from tens of milliseconds (small models) to minutes (large ones).</summary>
    public static readonly IReadOnlyList<double> DurationBuckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

    private readonly KeyValuePair<string, object?>[] _labels;
    private readonly Counter<long> _resumes;
    private readonly Histogram<double> _checkpointSave;
    private readonly Histogram<double> _checkpointUpload;

    private readonly Lock _gate = new();
    private readonly Dictionary<long, (int Epoch, long StepInEpoch)> _pendingUploads = [];
    private long _globalStep = -1;
    private int _epoch;
    private long _stepInEpoch;
    private (long GlobalStep, int Epoch, long StepInEpoch)? _checkpoint;
    private (long GlobalStep, int Epoch, long StepInEpoch)? _resumedFrom;
    private double? _loss;
    private double? _accuracy;
    private double? _samplesPerSecond;
    private long? _checkpointBytes;
    private Func<int>? _uploadBacklog;
    private double? _learningRate;
    private double? _bestValidationAccuracy;
    private Func<BestCheckpointReport?>? _best;
    private long _collections;
    private (int Index, string Name)? _stage;

    /// <summary>Creates the instruments on a meter from <paramref name="meterFactory"/>, labelled with the job's identity.</summary>
    public TrainerMetrics(IMeterFactory meterFactory, string? jobNamespace, string? jobName)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _labels = JobLabels(jobNamespace, jobName);
        var meter = meterFactory.Create(MeterName);
        _resumes = meter.CreateCounter<long>("k8straining_trainer_resumes", description: "Times this job's trainer started from a checkpoint instead of from scratch.");
        _checkpointSave = meter.CreateHistogram("k8straining_trainer_checkpoint_save", "s", "Time to write one checkpoint to local disk (files, fsync, manifest, rename).", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _checkpointUpload = meter.CreateHistogram("k8straining_trainer_checkpoint_upload", "s", "Time to upload and commit one checkpoint to the remote store.", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        meter.CreateObservableGauge(TrainerMetricNames.GlobalStep, () => Observe(Position()?.GlobalStep), description: "Optimizer steps completed since the start of training (across attempts).");
        meter.CreateObservableGauge(TrainerMetricNames.Epoch, () => Observe(Position()?.Epoch), description: "Current epoch, 0-based; equals the number of epochs completed.");
        meter.CreateObservableGauge(TrainerMetricNames.StepInEpoch, () => Observe(Position()?.StepInEpoch), description: "Steps completed in the current epoch.");
        meter.CreateObservableGauge(TrainerMetricNames.CheckpointGlobalStep, () => Observe(Checkpoint()?.GlobalStep), description: "Global step of the newest checkpoint a replacement would resume from (committed remotely with --checkpoint-uri, else on local disk).");
        meter.CreateObservableGauge(TrainerMetricNames.CheckpointEpoch, () => Observe(Checkpoint()?.Epoch), description: "Epoch of that checkpoint.");
        meter.CreateObservableGauge(TrainerMetricNames.CheckpointStepInEpoch, () => Observe(Checkpoint()?.StepInEpoch), description: "Step in epoch of that checkpoint.");
        meter.CreateObservableGauge(TrainerMetricNames.ResumedFromGlobalStep, () => Observe(ResumedFrom()?.GlobalStep), description: "Global step this attempt resumed from (0 when it started fresh); known before the first step.");
        meter.CreateObservableGauge(TrainerMetricNames.ResumedFromEpoch, () => Observe(ResumedFrom()?.Epoch), description: "Epoch this attempt resumed from (0 when it started fresh).");
        meter.CreateObservableGauge(TrainerMetricNames.ResumedFromStepInEpoch, () => Observe(ResumedFrom()?.StepInEpoch), description: "Step in epoch this attempt resumed from (0 when it started fresh).");
        meter.CreateObservableGauge(TrainerMetricNames.BestGlobalStep, () => ObserveBestOf(b => (double)b.GlobalStep), description: "Global step of the best checkpoint (by the validation metric, labels metric and weights), once durable; absent while there is none.");
        meter.CreateObservableGauge(TrainerMetricNames.BestEpoch, () => ObserveBestOf(b => b.Epoch), description: "Epoch at whose end the best checkpoint was measured, 0-based.");
        meter.CreateObservableGauge(TrainerMetricNames.BestValue, () => ObserveBestOf(b => b.Value), description: "The best checkpoint's value of its metric (validation accuracy 0..1, or validation loss).");
        meter.CreateObservableGauge(TrainerMetricNames.StageIndex, ObserveStage, description: "The stage a staged run is in, 0-based (label stage: its name); absent without --stages.");
        meter.CreateObservableGauge("k8straining_trainer_loss", () => Observe(Read(() => _loss)), description: "Training loss of the last step (cross-entropy).");
        meter.CreateObservableGauge("k8straining_trainer_validation_accuracy", () => Observe(Read(() => _accuracy)), description: "Accuracy on the validation split after the last completed epoch (on the test split for a run without one), 0..1.");
        meter.CreateObservableGauge("k8straining_trainer_samples_per_second", () => Observe(Read(() => _samplesPerSecond)), description: "Training throughput of this attempt, in samples per second.");
        meter.CreateObservableGauge("k8straining_trainer_checkpoint_size", () => Observe(Read(() => _checkpointBytes)), "By", "Size of the last checkpoint written (all its files).");
        meter.CreateObservableGauge("k8straining_trainer_upload_backlog", () => Observe((long?)(Read(() => _uploadBacklog)?.Invoke() ?? 0)), description: "Checkpoints written locally but not yet committed to the remote store.");
        meter.CreateObservableGauge("k8straining_trainer_process_memory", ObserveMemory, "By", "Resident memory of the trainer process (managed and native, libtorch included).");
        meter.CreateObservableGauge(TrainerMetricNames.LearningRate, () => Observe(Read(() => _learningRate)), description: "Learning rate of the last optimizer step (what the schedule set).");
        meter.CreateObservableGauge(TrainerMetricNames.BestValidationAccuracy, () => Observe(Read(() => _bestValidationAccuracy)), description: "Best validation accuracy so far, across attempts (0..1); absent without a validation split.");
    }

    /// <summary>How many times the exporter collected (a scrape); lets shutdown wait for a last scrape.</summary>
    public long Collections => Interlocked.Read(ref _collections);

    /// <summary>The bounded labels every trainer series carries.</summary>
    public static KeyValuePair<string, object?>[] JobLabels(string? jobNamespace, string? jobName) =>
    [
        new(JobMetricLabels.Namespace, jobNamespace ?? ""),
        new(JobMetricLabels.Name, jobName ?? ""),
    ];

    /// <summary>After each step: position, loss of the step and throughput.</summary>
    public void RecordStep(long globalStep, int epoch, long stepInEpoch, double loss, double samplesPerSecond)
    {
        lock (_gate)
        {
            _globalStep = globalStep;
            _epoch = epoch;
            _stepInEpoch = stepInEpoch;
            _loss = double.IsFinite(loss) ? loss : _loss;
            _samplesPerSecond = samplesPerSecond;
        }
    }

    /// <summary>After an epoch's evaluation: the position moves to the start of the next epoch, as the checkpoint records it.</summary>
    public void RecordEpochEnd(long globalStep, int completedEpoch, double? accuracy)
    {
        lock (_gate)
        {
            _globalStep = globalStep;
            _epoch = completedEpoch + 1;
            _stepInEpoch = 0;
            _accuracy = accuracy ?? _accuracy;
        }
    }

    /// <summary>The learning rate the last optimizer step used.</summary>
    public void RecordLearningRate(double learningRate)
    {
        lock (_gate)
        {
            _learningRate = double.IsFinite(learningRate) ? learningRate : _learningRate;
        }
    }

    /// <summary>The accuracy of the last finished epoch, known at start from the checkpoint's history (null keeps the last one).</summary>
    public void RecordValidationAccuracy(double? accuracy)
    {
        lock (_gate)
        {
            _accuracy = accuracy ?? _accuracy;
        }
    }

    /// <summary>The best validation accuracy so far (null keeps the last one: an epoch without a validation split).</summary>
    public void RecordBestValidationAccuracy(double? accuracy)
    {
        lock (_gate)
        {
            _bestValidationAccuracy = accuracy ?? _bestValidationAccuracy;
        }
    }

    /// <summary>Start of a run: from a checkpoint (counts a resume) or from scratch.</summary>
    public void RecordStart(long globalStep, int epoch, long stepInEpoch, double? accuracy, bool resumed)
    {
        lock (_gate)
        {
            _globalStep = globalStep;
            _epoch = epoch;
            _stepInEpoch = stepInEpoch;
            _accuracy = accuracy ?? _accuracy;
        }

        if (resumed)
        {
            _resumes.Add(1, _labels);
        }
        else
        {
            // Makes the counter exist at 0 so increase() sees the first resume.
            _resumes.Add(0, _labels);
        }
    }

    /// <summary>Where this attempt resumes (0/0/0 when it starts fresh), as soon as it is known: before data loads.</summary>
    public void RecordResumePoint(long globalStep, int epoch, long stepInEpoch)
    {
        lock (_gate)
        {
            _resumedFrom = (globalStep, epoch, stepInEpoch);
        }
    }

    /// <summary>A checkpoint committed to local disk.</summary>
    public void RecordCheckpointSaved(TimeSpan elapsed, long bytes)
    {
        _checkpointSave.Record(elapsed.TotalSeconds, _labels);
        lock (_gate)
        {
            _checkpointBytes = bytes;
        }
    }

    /// <summary>A checkpoint committed to the remote store.</summary>
    public void RecordCheckpointUploaded(TimeSpan elapsed) => _checkpointUpload.Record(elapsed.TotalSeconds, _labels);

    /// <summary>
    /// A checkpoint committed on local disk at this position. Without a remote store it is where a replacement resumes;
    /// with one it becomes that only once <see cref="RecordCheckpointCommittedRemotely"/> names its step.
    /// </summary>
    public void RecordCheckpointCommittedLocally(long globalStep, int epoch, long stepInEpoch, bool remoteStore)
    {
        lock (_gate)
        {
            if (!remoteStore)
            {
                _checkpoint = Newer(_checkpoint, (globalStep, epoch, stepInEpoch));
                return;
            }

            _pendingUploads[globalStep] = (epoch, stepInEpoch);
        }
    }

    /// <summary>The remote store committed the checkpoint of this step (its manifest and latest.json are written).</summary>
    public void RecordCheckpointCommittedRemotely(long globalStep)
    {
        lock (_gate)
        {
            if (_pendingUploads.Remove(globalStep, out var position))
            {
                _checkpoint = Newer(_checkpoint, (globalStep, position.Epoch, position.StepInEpoch));
            }

            foreach (var older in _pendingUploads.Keys.Where(k => k < globalStep).ToList())
            {
                _pendingUploads.Remove(older);
            }
        }
    }

    private (long GlobalStep, int Epoch, long StepInEpoch)? Checkpoint()
    {
        lock (_gate)
        {
            return _checkpoint;
        }
    }

    private (long GlobalStep, int Epoch, long StepInEpoch)? ResumedFrom()
    {
        lock (_gate)
        {
            return _resumedFrom;
        }
    }

    private static (long GlobalStep, int Epoch, long StepInEpoch) Newer((long GlobalStep, int Epoch, long StepInEpoch)? current, (long GlobalStep, int Epoch, long StepInEpoch) candidate) =>
        current is { } c && c.GlobalStep >= candidate.GlobalStep ? c : candidate;

    /// <summary>Where the upload backlog is read at each scrape.</summary>
    public void ObserveUploadBacklog(Func<int> backlog)
    {
        lock (_gate)
        {
            _uploadBacklog = backlog;
        }
    }

    /// <summary>Where the durable best checkpoint is read at each scrape (null while there is none).</summary>
    public void ObserveBest(Func<BestCheckpointReport?> best)
    {
        lock (_gate)
        {
            _best = best;
        }
    }

    // The best gauges carry the job labels plus the best's metric and weights, so one scrape says all the status needs.
    private IEnumerable<Measurement<double>> ObserveBestOf(Func<BestCheckpointReport, double> value)
    {
        if (Read(() => _best)?.Invoke() is not { } best)
        {
            return [];
        }
        KeyValuePair<string, object?>[] labels = [.. _labels, new(TrainerMetricNames.BestMetricLabel, best.Metric), new(TrainerMetricNames.BestWeightsLabel, best.Weights)];
        return [new Measurement<double>(value(best), labels)];
    }

    /// <summary>The stage a staged run entered (the gauge's value and its stage label).</summary>
    public void RecordStage(int index, string name)
    {
        lock (_gate)
        {
            _stage = (index, name);
        }
    }

    // One series, labelled with the current stage's name only: the label's values are bounded by the stage count.
    private IEnumerable<Measurement<long>> ObserveStage()
    {
        if (Read(() => _stage) is not { } stage)
        {
            return [];
        }
        KeyValuePair<string, object?>[] labels = [.. _labels, new(TrainerMetricNames.StageLabel, stage.Name)];
        return [new Measurement<long>(stage.Index, labels)];
    }

    private (long GlobalStep, int Epoch, long StepInEpoch)? Position()
    {
        lock (_gate)
        {
            return _globalStep >= 0 ? (_globalStep, _epoch, _stepInEpoch) : null;
        }
    }

    private T Read<T>(Func<T> field)
    {
        lock (_gate)
        {
            return field();
        }
    }

    private IEnumerable<Measurement<double>> Observe(double? value) =>
        value is { } v ? [new Measurement<double>(v, _labels)] : [];

    private IEnumerable<Measurement<long>> Observe(long? value) =>
        value is { } v ? [new Measurement<long>(v, _labels)] : [];

    private IEnumerable<Measurement<long>> ObserveMemory()
    {
        // Observed once per collection, so it doubles as the scrape counter.
        Interlocked.Increment(ref _collections);
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return [new Measurement<long>(process.WorkingSet64, _labels)];
    }
}
