using System.Diagnostics;
using System.Runtime.InteropServices;
using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;
using K8sTraining.Training.Data;
using K8sTraining.Training.Metrics;
using K8sTraining.Training.Models;
using K8sTraining.Training.Options;
using K8sTraining.Training.Storage;
using Microsoft.Extensions.Logging;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace K8sTraining.Training.Loop;

/// <summary>
/// The training run: resume from the newest valid checkpoint, train step by step (each inside a dispose scope) checking
/// for a stop request between steps, checkpoint periodically in the background, and on a stop finish the step, wait
/// for the write in flight, checkpoint and report "preempted".
/// </summary>
public sealed partial class TrainingLoop(TrainerOptions options, RemoteCheckpointSync remote, AttemptRecord attempt, TrainerMetrics metrics, ITrainingObserver observer, ILogger<TrainingLoop> logger)
{
    private const int EvaluationBatch = 1000;

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
        var configuration = TrainingConfiguration.From(options);
        if (options.Threads > 0)
        {
            torch.set_num_threads(options.Threads);
        }
        var store = OpenLocalStore();
        // Validates the remote store and, with an owner and an attempt, claims the prefix (owner.json, the fence).
        await remote.ValidateAsync(CancellationToken.None).ConfigureAwait(false);
        var resume = await FindResumePointAsync(store, configuration).ConfigureAwait(false);

        var data = DatasetLoader.Load(options);
        torch.manual_seed(options.Seed);
        using var model = ModelFactory.Create(options.Model);
        using var optimizer = CreateOptimizer(model);
        var state = Restore(resume, configuration, model, optimizer, data);
        var writer = StartCheckpointWriter(store, resume?.Checkpoint);
        return await TrainAsync(model, optimizer, data, state, writer, resumed: resume is not null, stopRequested).ConfigureAwait(false);
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
            throw new ConfigurationMismatchException(
                $"{diff.Flag}: '{diff.Requested}' differs from '{diff.Saved}' in checkpoint {found.Directory}; resume with {diff.Flag} {diff.Saved} or use another --checkpoint-dir");
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
    private TrainingState Restore(SavedCheckpoint? resume, TrainingConfiguration configuration, nn.Module model, OptimizerHelper optimizer, DatasetSplits data)
    {
        if (resume is null)
        {
            observer.OnMessage($"Starting {options.Model} on {options.Dataset} ({data.Train.Count} training, {data.Test.Count} test samples), {options.Epochs} epoch(s), batch size {options.BatchSize}");
            return new TrainingState
            {
                Configuration = configuration,
                Schedule = new LearningRateSchedule(options.LearningRate, options.LearningRateGamma),
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
    private async Task<TrainingOutcome> TrainAsync(nn.Module<Tensor, Tensor> model, OptimizerHelper optimizer, DatasetSplits data, TrainingState state, CheckpointWriter? writer, bool resumed, CancellationToken stopRequested)
    {
        var stepsPerEpoch = (data.Train.Count + options.BatchSize - 1) / options.BatchSize;
        var totalSteps = (long)stepsPerEpoch * options.Epochs;
        var clock = Stopwatch.StartNew();
        var startStep = state.GlobalStep;
        var pixels = new float[options.BatchSize * ImageDataset.PixelsPerImage];
        var labels = new long[options.BatchSize];
        double? lastAccuracy = state.History.Count > 0 ? state.History[^1].TestAccuracy : null;
        metrics.RecordStart(state.GlobalStep, state.Epoch, state.StepInEpoch, lastAccuracy, resumed);
        if (_startDelayMs > 0)
        {
            stopRequested.WaitHandle.WaitOne(_startDelayMs);
        }

        while (state.Epoch < options.Epochs)
        {
            var sampler = new EpochSampler(options.Seed, state.Epoch, data.Train.Count, options.BatchSize);
            var learningRate = state.Schedule.LearningRateAt(state.Epoch);
            foreach (var group in optimizer.ParamGroups)
            {
                group.LearningRate = learningRate;
            }
            model.train();
            while (state.StepInEpoch < sampler.StepsPerEpoch)
            {
                // A newer attempt owns the checkpoints: stop here, write nothing more (exit 76).
                remote.ThrowIfSuperseded();
                if (stopRequested.IsCancellationRequested)
                {
                    return await StopAsync(model, optimizer, state, writer, lastAccuracy).ConfigureAwait(false);
                }
                var batch = sampler.Batch(state.StepInEpoch);
                var loss = TrainStep(model, optimizer, data.Train, batch, pixels, labels);
                state.StepInEpoch++;
                state.GlobalStep++;
                attempt.RecordPosition(state.GlobalStep, state.Epoch, state.StepInEpoch);
                if (state.GlobalStep % FinalizeEverySteps == 0)
                {
                    ReleaseFinalizedNativeMemory();
                }
                state.EpochLossSum += loss * batch.Length;
                state.EpochSamples += batch.Length;
                if (writer is not null && options.CheckpointEverySteps > 0 && state.GlobalStep % options.CheckpointEverySteps == 0)
                {
                    writer.StartBackgroundWrite(CheckpointCodec.Capture(model, optimizer, state));
                }
                var rate = (state.GlobalStep - startStep) * (double)options.BatchSize / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
                var remaining = rate > 0 ? TimeSpan.FromSeconds((totalSteps - state.GlobalStep) * options.BatchSize / rate) : (TimeSpan?)null;
                observer.OnStep(new TrainingProgress(state.Epoch, options.Epochs, state.StepInEpoch, sampler.StepsPerEpoch, state.GlobalStep, totalSteps, loss, learningRate, rate, remaining, writer?.LastSubmittedStep));
                if (_stepDelayMs > 0)
                {
                    Thread.Sleep(_stepDelayMs);
                }
            }

            var accuracy = Evaluate(model, data.Test);
            lastAccuracy = accuracy;
            var epochMetrics = new EpochMetrics(state.Epoch, state.GlobalStep, state.EpochSamples > 0 ? state.EpochLossSum / state.EpochSamples : double.NaN, accuracy, learningRate);
            state.History.Add(epochMetrics);
            var progress = new TrainingProgress(state.Epoch, options.Epochs, state.StepInEpoch, sampler.StepsPerEpoch, state.GlobalStep, totalSteps, epochMetrics.TrainLoss, learningRate, 0, null, writer?.LastSubmittedStep);
            state.Epoch++;
            state.StepInEpoch = 0;
            state.EpochLossSum = 0;
            state.EpochSamples = 0;
            attempt.RecordPosition(state.GlobalStep, state.Epoch, state.StepInEpoch);
            attempt.RecordAccuracy(accuracy);
            observer.OnEpochEnd(epochMetrics, progress);
        }

        return await FinishAsync(model, optimizer, state, writer, lastAccuracy).ConfigureAwait(false);
    }

    /// <summary>After the last epoch: the final checkpoint, the --output model, the upload flush, then "completed".</summary>
    private async Task<TrainingOutcome> FinishAsync(nn.Module model, OptimizerHelper optimizer, TrainingState state, CheckpointWriter? writer, double? lastAccuracy)
    {
        remote.ThrowIfSuperseded();
        LocalCheckpoint? final = null;
        if (writer is not null)
        {
            writer.WaitForInFlight();
            final = writer.LastCommitted?.Manifest.GlobalStep == state.GlobalStep && writer.LastCommitted.Manifest.Epoch == state.Epoch
                ? writer.LastCommitted
                : writer.Write(CheckpointCodec.Capture(model, optimizer, state));
        }
        remote.ThrowIfSuperseded();
        if (options.Output is not null)
        {
            WriteAtomically(options.Output, CheckpointCodec.ModelBytes(model));
        }
        await FlushRemoteAsync().ConfigureAwait(false);
        remote.ThrowIfSuperseded();
        var message = $"Completed {options.Epochs} epoch(s) at global step {state.GlobalStep}; test accuracy {lastAccuracy:F4}";
        observer.OnMessage(message);
        RecordEnding(state, final, lastAccuracy);
        return new TrainingOutcome.Completed(message);
    }

    private async Task<TrainingOutcome> StopAsync(nn.Module model, OptimizerHelper optimizer, TrainingState state, CheckpointWriter? writer, double? accuracy)
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
            : writer.Write(CheckpointCodec.Capture(model, optimizer, state));
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

    private static double TrainStep(nn.Module<Tensor, Tensor> model, OptimizerHelper optimizer, ImageDataset data, ReadOnlySpan<int> batch, float[] pixels, long[] labels)
    {
        using var scope = NewDisposeScope();
        data.Gather(batch, pixels, labels);
        var n = batch.Length;
        // Copied straight into native tensors: torch.tensor(array) keeps a managed copy of the batch (a large-object-heap
        // allocation every step, and GC pressure).
        var input = torch.empty([n, 1, ImageDataset.Height, ImageDataset.Width]);
        input.bytes = MemoryMarshal.AsBytes(pixels.AsSpan(0, n * ImageDataset.PixelsPerImage));
        var target = torch.empty([n], ScalarType.Int64);
        target.bytes = MemoryMarshal.AsBytes(labels.AsSpan(0, n));
        // No GC may run during the step (see NoGcRegion); its managed allocations are small.
        NoGcRegion.EnsureEntered();
        optimizer.zero_grad();
        var loss = nn.functional.cross_entropy(model.forward(input), target);
        loss.backward();
        optimizer.step();
        return loss.item<float>();
    }

    /// <summary>Test-split accuracy; eval mode and no RNG use, so it never changes what training does next.</summary>
    public static double Evaluate(nn.Module<Tensor, Tensor> model, ImageDataset test)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(test);
        model.eval();
        long correct = 0;
        using (torch.no_grad())
        {
            for (var start = 0; start < test.Count; start += EvaluationBatch)
            {
                using var scope = NewDisposeScope();
                var n = Math.Min(EvaluationBatch, test.Count - start);
                var input = torch.tensor(test.Pixels.AsSpan(start * ImageDataset.PixelsPerImage, n * ImageDataset.PixelsPerImage).ToArray(), [n, 1, ImageDataset.Height, ImageDataset.Width]);
                var target = torch.tensor(test.Labels.AsSpan(start, n).ToArray());
                correct += model.forward(input).argmax(1).eq(target).sum().item<long>();
            }
        }
        model.train();
        return (double)correct / test.Count;
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
