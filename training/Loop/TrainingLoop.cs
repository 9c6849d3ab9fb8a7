using System.Diagnostics;
using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;
using K8sTraining.Training.Data;
using K8sTraining.Training.Metrics;
using K8sTraining.Training.Options;
using K8sTraining.Training.Storage;
using K8sTraining.Training.Tasks;
using Microsoft.Extensions.Logging;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace K8sTraining.Training.Loop;

/// <summary>
/// The training run: resume from the newest valid checkpoint, train step by step (each inside a dispose scope) checking
/// for a stop request between steps, checkpoint periodically in the background, and on a stop finish the step, wait
/// for the write in flight, checkpoint and report "preempted". Generic over the <see cref="TrainingTask"/>: its data,
/// model, loss and metrics; batches come from a <see cref="BatchLoader"/> that fills them ahead on worker threads.
/// </summary>
public sealed partial class TrainingLoop(TrainerOptions options, TrainingTask task, RemoteCheckpointSync remote, AttemptRecord attempt, TrainerMetrics metrics, ITrainingObserver observer, ILogger<TrainingLoop> logger)
{

    /// <summary>
    /// TorchSharp frees the native side of implicitly created Scalars only from finalizers, and the managed heap is too
    /// small to trigger collections on its own: without a periodic collection the native memory grows with the steps.
    /// </summary>
    private const long FinalizeEverySteps = 100;

    /// <summary>Test-only: milliseconds to sleep after each step, so tests can signal a small model mid-run.</summary>
    internal const string StepDelayEnvironmentVariable = "K8STRAINING_TEST_STEP_DELAY_MS";

    private readonly int _stepDelayMs = int.TryParse(Environment.GetEnvironmentVariable(StepDelayEnvironmentVariable), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var ms) ? ms : 0;

    /// <summary>Test-only: milliseconds to wait (ended early by a stop request) before the first step, so tests can stop a trainer before it steps.</summary>
    internal const string StartDelayEnvironmentVariable = "K8STRAINING_TEST_START_DELAY_MS";

    private readonly int _startDelayMs = int.TryParse(Environment.GetEnvironmentVariable(StartDelayEnvironmentVariable), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var ms) ? ms : 0;

    /// <summary>The story of a run: check the storage and claim it, find where to resume, train, and say how it ended.</summary>
    public async Task<TrainingOutcome> RunAsync(CancellationToken stopRequested)
    {
        var configuration = TrainingConfiguration.From(options, task);
        if (options.Threads > 0)
        {
            torch.set_num_threads(options.Threads);
        }
        var store = OpenLocalStore();
        // Validates the remote store and, with an owner and an attempt, claims the prefix (owner.json, the fence).
        await remote.ValidateAsync(CancellationToken.None).ConfigureAwait(false);
        var resume = await FindResumePointAsync(store, configuration).ConfigureAwait(false);

        var (data, split) = SplitData(task.LoadData(), resume);
        torch.manual_seed(options.Seed);
        using var model = task.CreateModel(data);
        using var optimizer = CreateOptimizer(model);
        var classes = options.NumClasses ?? data.Train.Classes;
        var loss = task.CreateLoss?.Invoke(data.Train) ?? DefaultLoss.Create(options, data.Train, classes);
        var state = Restore(resume, configuration, model, optimizer, data);
        var writer = StartCheckpointWriter(store, resume?.Checkpoint);
        var run = new Run(model, optimizer, loss, data, classes, split?.ToBytes());
        observer.OnStart(new TrainingRunInfo(
            Enumerable.Range(0, classes).Select(c => data.Train.ClassNames is { } names && c < names.Count ? names[c] : c.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList(),
            data.Validation is not null,
            task.Metrics.Select(m => m.Name).ToList()));
        return await TrainAsync(run, state, writer, resumed: resume is not null, stopRequested).ConfigureAwait(false);
    }

    /// <summary>What one attempt trains with; <see cref="SplitBytes"/> goes into every checkpoint when there is a split.</summary>
    private sealed record Run(nn.Module<Tensor, Tensor> Model, OptimizerHelper Optimizer, LossFunction Loss, TrainingData Data, int Classes, byte[]? SplitBytes);

    /// <summary>
    /// The splits the run trains and validates on: the checkpoint's saved split when it has one (refused, exit 2, if it
    /// no longer fits the data), else the one <c>--max-samples-per-class</c> and <c>--val-fraction</c> choose.
    /// </summary>
    private (TrainingData Data, DataSplit? Split) SplitData(TrainingData loaded, SavedCheckpoint? resume)
    {
        ArgumentNullException.ThrowIfNull(loaded);
        var validationFraction = options.ValFraction;
        if (validationFraction > 0 && loaded.Validation is not null)
        {
            observer.OnMessage($"--val-fraction {validationFraction.ToString(System.Globalization.CultureInfo.InvariantCulture)} ignored: {task.DatasetName} has a validation split of its own");
            validationFraction = 0;
        }
        DataSplit? split;
        var savedPath = resume?.Checkpoint.FilePath(DataSplit.FileName);
        if (savedPath is not null && resume!.Checkpoint.Manifest.Files.Any(f => f.Name == DataSplit.FileName))
        {
            split = DataSplit.Parse(File.ReadAllBytes(savedPath));
            split.EnsureFits(loaded.Train, savedPath);
        }
        else
        {
            split = DataSplit.Choose(loaded.Train, options.Seed, options.MaxSamplesPerClass, validationFraction);
        }
        if (split is null)
        {
            return (loaded, null);
        }
        var validation = split.Validation is { } v ? new SubsetDataset(loaded.Train, v) : loaded.Validation;
        return (new TrainingData(new SubsetDataset(loaded.Train, split.Train), loaded.Test, validation), split);
    }

    /// <summary>A checkpoint to resume from and the training state saved in it.</summary>
    private sealed record SavedCheckpoint(LocalCheckpoint Checkpoint, TrainingState State);

    private LocalCheckpointStore? OpenLocalStore()
    {
        var store = options.CheckpointDirectory is null ? null : new LocalCheckpointStore(options.CheckpointDirectory, options.KeepCheckpoints, logger);
        store?.EnsureUsable();
        return store;
    }

    /// <summary>
    /// The newest valid local checkpoint, or the remote one restored over it when that is newer; refuses (exit 2) one
    /// saved with another configuration. Records the position and resume point before any data is loaded.
    /// </summary>
    private async Task<SavedCheckpoint?> FindResumePointAsync(LocalCheckpointStore? store, TrainingConfiguration configuration)
    {
        var found = store?.FindNewestValid();
        if (store is not null && remote.Enabled)
        {
            var restored = await remote.RestoreNewestAsync(store.Root, found?.Manifest.GlobalStep ?? -1, CancellationToken.None).ConfigureAwait(false);
            if (restored is not null)
            {
                found = store.FindNewestValid();
            }
        }
        if (found is null)
        {
            metrics.RecordResumePoint(0, 0, 0);
            return null;
        }
        var saved = CheckpointCodec.ReadState(found);
        // The job's last known position, even if this attempt refuses to resume from it below.
        attempt.RecordPosition(saved.GlobalStep, saved.Epoch, saved.StepInEpoch);
        attempt.RecordLocalCheckpoint(found);
        if (configuration.FirstDifference(saved.Configuration) is { } diff)
        {
            var fix = diff.Saved == TrainingConfiguration.Unset ? $"resume without {diff.Flag}" : $"resume with {diff.Flag} {diff.Saved}";
            throw new ConfigurationMismatchException(
                $"{diff.Flag}: '{diff.Requested}' differs from '{diff.Saved}' in checkpoint {found.Directory}; {fix} or use another --checkpoint-dir");
        }
        // Known before any data is loaded, so the operator can correct status.resumeFrom from the first scrape. Named
        // by its remote URI when the store holds it (restored, or listed in latest.json), else by its local path.
        var from = remote.NewestCommitted is { } durable && durable.GlobalStep == found.Manifest.GlobalStep ? durable.Uri : found.Directory;
        attempt.RecordResume(saved.GlobalStep, saved.Epoch, saved.StepInEpoch, from);
        attempt.RecordAccuracy(saved.History.Count > 0 ? saved.History[^1].TestAccuracy : null);
        metrics.RecordResumePoint(saved.GlobalStep, saved.Epoch, saved.StepInEpoch);
        return new SavedCheckpoint(found, saved);
    }

    /// <summary>Loads the model, optimizer and RNG from the resume point, or starts a fresh state.</summary>
    private TrainingState Restore(SavedCheckpoint? resume, TrainingConfiguration configuration, nn.Module model, OptimizerHelper optimizer, TrainingData data)
    {
        if (resume is null)
        {
            var validation = data.Validation is null ? string.Empty : $", {data.Validation.Count} validation";
            observer.OnMessage($"Starting {task.ModelName} on {task.DatasetName} ({data.Train.Count} training{validation}, {data.Test.Count} test samples), {options.Epochs} epoch(s), batch size {options.BatchSize}");
            return new TrainingState
            {
                Configuration = configuration,
            };
        }
        var state = resume.State;
        CheckpointCodec.Restore(resume.Checkpoint, model, optimizer);
        observer.OnMessage($"Resuming at epoch {state.Epoch}, step {state.StepInEpoch} of epoch (global step {state.GlobalStep}) from {resume.Checkpoint.Directory}");
        return state;
    }

    /// <summary>The background checkpoint writer (none without --checkpoint-dir); each commit is queued for the remote store.</summary>
    private CheckpointWriter? StartCheckpointWriter(LocalCheckpointStore? store, LocalCheckpoint? resumedFrom)
    {
        if (store is null)
        {
            return null;
        }
        store.RemoveIncompleteWrites();
        return new CheckpointWriter(store, (committed, elapsed) =>
        {
            metrics.RecordCheckpointSaved(elapsed, committed.Manifest.Files.Sum(f => f.Size));
            attempt.RecordLocalCheckpoint(committed);
            metrics.RecordCheckpointCommittedLocally(committed.Manifest.GlobalStep, committed.Manifest.Epoch, committed.Manifest.StepInEpoch, remote.Enabled);
            remote.Enqueue(committed);
        }) { LastCommitted = resumedFrom };
    }

    /// <summary>Trains epoch by epoch until done or stopped; a newer attempt's commit ends it between steps.</summary>
    private async Task<TrainingOutcome> TrainAsync(Run run, TrainingState state, CheckpointWriter? writer, bool resumed, CancellationToken stopRequested)
    {
        var train = run.Data.Train;
        var stepsPerEpoch = (train.Count + options.BatchSize - 1) / options.BatchSize;
        var totalSteps = (long)stepsPerEpoch * options.Epochs;
        var clock = Stopwatch.StartNew();
        var startStep = state.GlobalStep;
        double? lastAccuracy = state.History.Count > 0 ? state.History[^1].TestAccuracy : null;
        metrics.RecordStart(state.GlobalStep, state.Epoch, state.StepInEpoch, lastAccuracy, resumed);
        if (_startDelayMs > 0)
        {
            stopRequested.WaitHandle.WaitOne(_startDelayMs);
        }

        while (state.Epoch < options.Epochs)
        {
            var learningRate = Schedules.ScheduleFactory.For(options, stepsPerEpoch, options.LearningRate).At((long)state.Epoch * stepsPerEpoch).LearningRate;
            foreach (var group in run.Optimizer.ParamGroups)
            {
                group.LearningRate = learningRate;
            }
            run.Model.train();
            // Prefetched batches are dropped when the loader is disposed (a stop); a resume makes them again, the same.
            var stopped = false;
            using (var loader = new BatchLoader(train, EpochSampler.Permutation(options.Seed, state.Epoch, train.Count), options.BatchSize, state.StepInEpoch, state.Epoch, options.Seed, train: true, options.LoaderWorkers, options.PrefetchBatches))
            {
                while (state.StepInEpoch < stepsPerEpoch)
                {
                    // A newer attempt owns the checkpoints: stop here, write nothing more (exit 76).
                    remote.ThrowIfSuperseded();
                    if (stopRequested.IsCancellationRequested)
                    {
                        stopped = true;
                        break;
                    }
                    var batch = loader.Next();
                    var samples = batch.Count;
                    var loss = TrainStep(run.Model, run.Optimizer, run.Loss, batch, train.SampleShape);
                    loader.Return(batch);
                    state.StepInEpoch++;
                    state.GlobalStep++;
                    attempt.RecordPosition(state.GlobalStep, state.Epoch, state.StepInEpoch);
                    if (state.GlobalStep % FinalizeEverySteps == 0)
                    {
                        ReleaseFinalizedNativeMemory();
                    }
                    state.EpochLossSum += loss * samples;
                    state.EpochSamples += samples;
                    if (writer is not null && options.CheckpointEverySteps > 0 && state.GlobalStep % options.CheckpointEverySteps == 0)
                    {
                        writer.StartBackgroundWrite(Capture(run, state));
                    }
                    var rate = (state.GlobalStep - startStep) * (double)options.BatchSize / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
                    var remaining = rate > 0 ? TimeSpan.FromSeconds((totalSteps - state.GlobalStep) * options.BatchSize / rate) : (TimeSpan?)null;
                    observer.OnStep(new TrainingProgress(state.Epoch, options.Epochs, state.StepInEpoch, stepsPerEpoch, state.GlobalStep, totalSteps, loss, learningRate, rate, remaining, writer?.LastSubmittedStep));
                    if (_stepDelayMs > 0)
                    {
                        Thread.Sleep(_stepDelayMs);
                    }
                }
            }
            if (stopped)
            {
                // The loader is gone first, so no batch is filled while the checkpoint is written.
                return await StopAsync(run, state, writer, lastAccuracy).ConfigureAwait(false);
            }

            var epochMetrics = EvaluateEpoch(run, state, learningRate);
            lastAccuracy = epochMetrics.TestAccuracy;
            state.History.Add(epochMetrics);
            var progress = new TrainingProgress(state.Epoch, options.Epochs, state.StepInEpoch, stepsPerEpoch, state.GlobalStep, totalSteps, epochMetrics.TrainLoss, learningRate, 0, null, writer?.LastSubmittedStep);
            state.Epoch++;
            state.StepInEpoch = 0;
            state.EpochLossSum = 0;
            state.EpochSamples = 0;
            attempt.RecordPosition(state.GlobalStep, state.Epoch, state.StepInEpoch);
            attempt.RecordAccuracy(epochMetrics.TestAccuracy);
            observer.OnEpochEnd(epochMetrics, progress);
        }

        return await FinishAsync(run, state, writer, lastAccuracy).ConfigureAwait(false);
    }

    /// <summary>Test accuracy, validation accuracy, per-class accuracy (validation if any, else test) and the task's metrics.</summary>
    private EpochMetrics EvaluateEpoch(Run run, TrainingState state, double learningRate)
    {
        var test = Evaluation.Run(run.Model, run.Data.Test, run.Classes, task.Metrics, options.Seed, state.Epoch, options.LoaderWorkers, options.PrefetchBatches);
        var extra = test.Metrics.ToDictionary(kv => "test." + kv.Key, kv => kv.Value, StringComparer.Ordinal);
        EvaluationResult? validation = null;
        if (run.Data.Validation is { } validationData)
        {
            validation = Evaluation.Run(run.Model, validationData, run.Classes, task.Metrics, options.Seed, state.Epoch, options.LoaderWorkers, options.PrefetchBatches);
            foreach (var (name, value) in validation.Metrics)
            {
                extra["validation." + name] = value;
            }
        }
        return new EpochMetrics(
            state.Epoch,
            state.GlobalStep,
            state.EpochSamples > 0 ? state.EpochLossSum / state.EpochSamples : double.NaN,
            test.Accuracy,
            learningRate,
            validation?.Accuracy,
            (validation ?? test).ClassAccuracy,
            validation is null ? "test" : "validation",
            extra.Count == 0 ? null : extra);
    }

    /// <summary>The checkpoint of this instant, with the data split beside the state when there is one.</summary>
    private static CheckpointSnapshot Capture(Run run, TrainingState state)
    {
        var snapshot = CheckpointCodec.Capture(run.Model, run.Optimizer, state);
        return run.SplitBytes is null ? snapshot : snapshot with { Files = [.. snapshot.Files, (DataSplit.FileName, run.SplitBytes)] };
    }

    /// <summary>After the last epoch: the final checkpoint, the --output model, the upload flush, then "completed".</summary>
    private async Task<TrainingOutcome> FinishAsync(Run run, TrainingState state, CheckpointWriter? writer, double? lastAccuracy)
    {
        remote.ThrowIfSuperseded();
        LocalCheckpoint? final = null;
        if (writer is not null)
        {
            writer.WaitForInFlight();
            final = writer.LastCommitted?.Manifest.GlobalStep == state.GlobalStep && writer.LastCommitted.Manifest.Epoch == state.Epoch
                ? writer.LastCommitted
                : writer.Write(Capture(run, state));
        }
        remote.ThrowIfSuperseded();
        if (options.Output is not null)
        {
            WriteAtomically(options.Output, CheckpointCodec.ModelBytes(run.Model));
        }
        await FlushRemoteAsync().ConfigureAwait(false);
        remote.ThrowIfSuperseded();
        var message = $"Completed {options.Epochs} epoch(s) at global step {state.GlobalStep}; test accuracy {lastAccuracy:F4}";
        observer.OnMessage(message);
        RecordEnding(state, final, lastAccuracy);
        return new TrainingOutcome.Completed(message);
    }

    private async Task<TrainingOutcome> StopAsync(Run run, TrainingState state, CheckpointWriter? writer, double? accuracy)
    {
        var clock = Stopwatch.StartNew();
        if (writer is null)
        {
            var lost = $"Stopped at global step {state.GlobalStep} without --checkpoint-dir: progress is lost";
            observer.OnMessage(lost);
            RecordEnding(state, null, accuracy);
            return new TrainingOutcome.StoppedWithoutCheckpoint(lost);
        }
        writer.WaitForInFlight();
        var checkpoint = writer.LastCommitted?.Manifest.GlobalStep == state.GlobalStep && writer.LastCommitted.Manifest.Epoch == state.Epoch
            ? writer.LastCommitted
            : writer.Write(Capture(run, state));
        await FlushRemoteAsync().ConfigureAwait(false);
        remote.ThrowIfSuperseded();
        var message = $"Stopped by signal after global step {state.GlobalStep} (epoch {state.Epoch}, step {state.StepInEpoch} of epoch); checkpoint {checkpoint!.Directory} written in {clock.Elapsed.TotalSeconds:F2} s";
        observer.OnMessage(message);
        RecordEnding(state, checkpoint, accuracy);
        return new TrainingOutcome.Interrupted(message);
    }

    private async Task FlushRemoteAsync()
    {
        if (!remote.Enabled)
        {
            return;
        }
        var result = await remote.FlushAsync(TimeSpan.FromSeconds(options.ShutdownTimeoutSeconds), CancellationToken.None).ConfigureAwait(false);
        if (result is { AllCommitted: false })
        {
            LogUploadIncomplete(logger, result.Backlog, options.ShutdownTimeoutSeconds);
        }
    }

    // The position, accuracy and newest local checkpoint are in the attempt record already; the checkpoint and
    // accuracy arguments only make each ending say what it relies on. Hosting reports the outcome from the record.
    private void RecordEnding(TrainingState state, LocalCheckpoint? checkpoint, double? accuracy)
    {
        attempt.RecordPosition(state.GlobalStep, state.Epoch, state.StepInEpoch);
        attempt.RecordAccuracy(accuracy);
        if (checkpoint is not null)
        {
            attempt.RecordLocalCheckpoint(checkpoint);
        }
    }

    private OptimizerHelper CreateOptimizer(nn.Module model) => options.Optimizer switch
    {
        OptimizerNames.Sgd => optim.SGD(model.parameters(), options.LearningRate, momentum: 0.9),
        _ => optim.AdamW(model.parameters(), options.LearningRate),
    };

    private static void ReleaseFinalizedNativeMemory()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }

    private static double TrainStep(nn.Module<Tensor, Tensor> model, OptimizerHelper optimizer, LossFunction lossFunction, LoadedBatch batch, IReadOnlyList<long> sampleShape)
    {
        using var scope = NewDisposeScope();
        var (input, target) = batch.ToTensors(sampleShape);
        // No GC may run during the step (see NoGcRegion); its managed allocations are small.
        NoGcRegion.EnsureEntered();
        optimizer.zero_grad();
        var loss = lossFunction(model.forward(input), target);
        loss.backward();
        optimizer.step();
        return loss.item<float>();
    }

    private static void WriteAtomically(string path, byte[] content)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = full + ".tmp-" + Environment.ProcessId;
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write))
        {
            stream.Write(content);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, full, overwrite: true);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Remote upload incomplete: {Backlog} checkpoint(s) not committed within {Seconds} s")]
    private static partial void LogUploadIncomplete(ILogger logger, int backlog, int seconds);
}
