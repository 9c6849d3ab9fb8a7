using System.Diagnostics.Metrics;
using K8sTraining.Contract;

namespace K8sTraining.Trainer.Metrics;

/// <summary>
/// The trainer's instruments (meter "K8sTraining.Trainer"), exported on --metrics-port by <see cref="TrainerMetricsServer"/>.
/// </summary>
/// <remarks>
/// Static, as .NET meters usually are, so the loop, the checkpoint writer and the S3 store record with one line each
/// and pay nothing when no exporter listens. Every series carries only job_namespace and job_name (from
/// TRAINER_JOB_NAMESPACE / TRAINER_JOB_NAME, set by the operator): never a pod, a step or a secret. The names avoid
/// Prometheus's own "job" and "namespace" target labels, which a scrape would otherwise rename to exported_*.
/// </remarks>
public static class TrainerMetrics
{
    public const string MeterName = "K8sTraining.Trainer";

    /// <summary>Checkpoint save and upload durations: from tens of milliseconds (small models) to minutes (large ones).</summary>
    public static readonly IReadOnlyList<double> DurationBuckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

    private static readonly Meter Meter = new(MeterName);
    private static readonly KeyValuePair<string, object?>[] Labels = JobLabels(Environment.GetEnvironmentVariable);
    private static readonly Counter<long> Resumes = Meter.CreateCounter<long>("k8straining_trainer_resumes", description: "Times this job's trainer started from a checkpoint instead of from scratch.");
    private static readonly Histogram<double> CheckpointSave = Meter.CreateHistogram("k8straining_trainer_checkpoint_save", "s", "Time to write one checkpoint to local disk (files, fsync, manifest, rename).", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
    private static readonly Histogram<double> CheckpointUpload = Meter.CreateHistogram("k8straining_trainer_checkpoint_upload", "s", "Time to upload and commit one checkpoint to the remote store.", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });

    private static readonly Lock Gate = new();
    private static long _globalStep = -1;
    private static int _epoch;
    private static long _stepInEpoch;
    private static (long GlobalStep, int Epoch, long StepInEpoch)? _checkpoint;
    private static (long GlobalStep, int Epoch, long StepInEpoch)? _resumedFrom;
    private static readonly Dictionary<long, (int Epoch, long StepInEpoch)> PendingUploads = [];
    private static double? _loss;
    private static double? _accuracy;
    private static double? _samplesPerSecond;
    private static long? _checkpointBytes;
    private static Func<int>? _uploadBacklog;
    private static long _collections;

    static TrainerMetrics()
    {
        Meter.CreateObservableGauge(TrainerMetricNames.GlobalStep, () => Observe(_globalStep >= 0 ? _globalStep : (long?)null), description: "Optimizer steps completed since the start of training (across attempts).");
        Meter.CreateObservableGauge(TrainerMetricNames.Epoch, () => Observe(_globalStep >= 0 ? _epoch : (long?)null), description: "Current epoch, 0-based; equals the number of epochs completed.");
        Meter.CreateObservableGauge(TrainerMetricNames.StepInEpoch, () => Observe(_globalStep >= 0 ? _stepInEpoch : (long?)null), description: "Steps completed in the current epoch.");
        Meter.CreateObservableGauge(TrainerMetricNames.CheckpointGlobalStep, () => Observe(Checkpoint()?.GlobalStep), description: "Global step of the newest checkpoint a replacement would resume from (committed remotely with --checkpoint-uri, else on local disk).");
        Meter.CreateObservableGauge(TrainerMetricNames.CheckpointEpoch, () => Observe(Checkpoint()?.Epoch), description: "Epoch of that checkpoint.");
        Meter.CreateObservableGauge(TrainerMetricNames.CheckpointStepInEpoch, () => Observe(Checkpoint()?.StepInEpoch), description: "Step in epoch of that checkpoint.");
        Meter.CreateObservableGauge(TrainerMetricNames.ResumedFromGlobalStep, () => Observe(ResumedFrom()?.GlobalStep), description: "Global step this attempt resumed from (0 when it started fresh); known before the first step.");
        Meter.CreateObservableGauge(TrainerMetricNames.ResumedFromEpoch, () => Observe(ResumedFrom()?.Epoch), description: "Epoch this attempt resumed from (0 when it started fresh).");
        Meter.CreateObservableGauge(TrainerMetricNames.ResumedFromStepInEpoch, () => Observe(ResumedFrom()?.StepInEpoch), description: "Step in epoch this attempt resumed from (0 when it started fresh).");
        Meter.CreateObservableGauge("k8straining_trainer_loss", () => Observe(_loss), description: "Training loss of the last step (cross-entropy).");
        Meter.CreateObservableGauge("k8straining_trainer_validation_accuracy", () => Observe(_accuracy), description: "Accuracy on the held-out test split after the last completed epoch (0..1).");
        Meter.CreateObservableGauge("k8straining_trainer_samples_per_second", () => Observe(_samplesPerSecond), description: "Training throughput of this attempt, in samples per second.");
        Meter.CreateObservableGauge("k8straining_trainer_checkpoint_size", () => Observe(_checkpointBytes), "By", "Size of the last checkpoint written (all its files).");
        Meter.CreateObservableGauge("k8straining_trainer_upload_backlog", () => Observe((long?)(_uploadBacklog?.Invoke() ?? 0)), description: "Checkpoints written locally but not yet committed to the remote store.");
        Meter.CreateObservableGauge("k8straining_trainer_process_memory", ObserveMemory, "By", "Resident memory of the trainer process (managed and native, libtorch included).");
    }

    /// <summary>How many times the exporter collected (a scrape); lets shutdown wait for a last scrape.</summary>
    public static long Collections => Interlocked.Read(ref _collections);

    /// <summary>The bounded labels every trainer series carries.</summary>
    public static KeyValuePair<string, object?>[] JobLabels(Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        return
        [
            new(JobMetricLabels.Namespace, environment(TrainerEnvironment.JobNamespace) ?? ""),
            new(JobMetricLabels.Name, environment(TrainerEnvironment.JobName) ?? ""),
        ];
    }

    /// <summary>After each step: position, loss of the step and throughput.</summary>
    public static void RecordStep(long globalStep, int epoch, long stepInEpoch, double loss, double samplesPerSecond)
    {
        lock (Gate)
        {
            _globalStep = globalStep;
            _epoch = epoch;
            _stepInEpoch = stepInEpoch;
            _loss = double.IsFinite(loss) ? loss : _loss;
            _samplesPerSecond = samplesPerSecond;
        }
    }

    /// <summary>After an epoch's evaluation: the position moves to the start of the next epoch, as the checkpoint records it.</summary>
    public static void RecordEpochEnd(long globalStep, int completedEpoch, double accuracy)
    {
        lock (Gate)
        {
            _globalStep = globalStep;
            _epoch = completedEpoch + 1;
            _stepInEpoch = 0;
            _accuracy = accuracy;
        }
    }

    /// <summary>Start of a run: from a checkpoint (counts a resume) or from scratch.</summary>
    public static void RecordStart(long globalStep, int epoch, long stepInEpoch, double? accuracy, bool resumed)
    {
        lock (Gate)
        {
            _globalStep = globalStep;
            _epoch = epoch;
            _stepInEpoch = stepInEpoch;
            _accuracy = accuracy ?? _accuracy;
        }

        if (resumed)
        {
            Resumes.Add(1, Labels);
        }
        else
        {
            // Makes the counter exist at 0 so increase() sees the first resume.
            Resumes.Add(0, Labels);
        }
    }

    /// <summary>Where this attempt resumes (0/0/0 when it starts fresh), as soon as it is known: before data loads.</summary>
    public static void RecordResumePoint(long globalStep, int epoch, long stepInEpoch)
    {
        lock (Gate)
        {
            _resumedFrom = (globalStep, epoch, stepInEpoch);
        }
    }

    /// <summary>A checkpoint committed to local disk.</summary>
    public static void RecordCheckpointSaved(TimeSpan elapsed, long bytes)
    {
        CheckpointSave.Record(elapsed.TotalSeconds, Labels);
        _checkpointBytes = bytes;
    }

    /// <summary>A checkpoint committed to the remote store.</summary>
    public static void RecordCheckpointUploaded(TimeSpan elapsed) => CheckpointUpload.Record(elapsed.TotalSeconds, Labels);

    /// <summary>
    /// A checkpoint committed on local disk at this position. Without a remote store it is where a replacement resumes;
    /// with one it becomes that only once <see cref="RecordCheckpointCommittedRemotely"/> names its step.
    /// </summary>
    public static void RecordCheckpointCommittedLocally(long globalStep, int epoch, long stepInEpoch, bool remoteStore)
    {
        lock (Gate)
        {
            if (!remoteStore)
            {
                _checkpoint = Newer(_checkpoint, (globalStep, epoch, stepInEpoch));
                return;
            }

            PendingUploads[globalStep] = (epoch, stepInEpoch);
        }
    }

    /// <summary>The remote store committed the checkpoint of this step (its manifest and latest.json are written).</summary>
    public static void RecordCheckpointCommittedRemotely(long globalStep)
    {
        lock (Gate)
        {
            if (PendingUploads.Remove(globalStep, out var position))
            {
                _checkpoint = Newer(_checkpoint, (globalStep, position.Epoch, position.StepInEpoch));
            }

            foreach (var older in PendingUploads.Keys.Where(k => k < globalStep).ToList())
            {
                PendingUploads.Remove(older);
            }
        }
    }

    private static (long GlobalStep, int Epoch, long StepInEpoch)? Checkpoint()
    {
        lock (Gate)
        {
            return _checkpoint;
        }
    }

    private static (long GlobalStep, int Epoch, long StepInEpoch)? ResumedFrom()
    {
        lock (Gate)
        {
            return _resumedFrom;
        }
    }

    private static (long GlobalStep, int Epoch, long StepInEpoch) Newer((long GlobalStep, int Epoch, long StepInEpoch)? current, (long GlobalStep, int Epoch, long StepInEpoch) candidate) =>
        current is { } c && c.GlobalStep >= candidate.GlobalStep ? c : candidate;

    /// <summary>Where the upload backlog is read at each scrape.</summary>
    public static void ObserveUploadBacklog(Func<int> backlog) => _uploadBacklog = backlog;

    private static IEnumerable<Measurement<double>> Observe(double? value) =>
        value is { } v ? [new Measurement<double>(v, Labels)] : [];

    private static IEnumerable<Measurement<long>> Observe(long? value) =>
        value is { } v ? [new Measurement<long>(v, Labels)] : [];

    private static IEnumerable<Measurement<long>> ObserveMemory()
    {
        // Observed once per collection, so it doubles as the scrape counter.
        Interlocked.Increment(ref _collections);
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return [new Measurement<long>(process.WorkingSet64, Labels)];
    }
}
