using System.Diagnostics;
using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;
using K8sTraining.Training.Data;
using K8sTraining.Training.Deadlines;
using K8sTraining.Training.Distributed;
using K8sTraining.Training.FineTuning;
using K8sTraining.Training.Optimization;
using K8sTraining.Training.Regularization;
using K8sTraining.Training.Resume;
using K8sTraining.Training.Schedules;
using K8sTraining.Training.Stages;
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
public sealed partial class TrainingLoop(TrainerOptions options, TrainingTask task, RemoteCheckpointSync remote, AttemptRecord attempt, TrainerMetrics metrics, ITrainingObserver observer, ILogger<TrainingLoop> logger, DataParallel? dataParallel = null)
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

    /// <summary>--deadline: decides at each step boundary whether to stop now (none without a deadline).</summary>
    private DeadlineGuard _deadline = DeadlineGuard.None;

    private readonly SampleTrace? _sampleTrace = SampleTrace.FromEnvironment();

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
        if (DeadlineGuard.PassedAtStart(options.Deadline, TimeProvider.System) is { } passed)
        {
            observer.OnMessage(passed);
            return new TrainingOutcome.DeadlineExceeded(passed);
        }

        var plan = StagePlan.From(options);
        if (resume is not null)
        {
            StageGuards.RequireCompatible(plan, options, resume.State, resume.Checkpoint.Directory);
        }
        var (data, split) = SplitData(task.LoadData(), resume);
        var stages = new StageContext(plan, task, data, split, options.Seed);
        var modelData = stages.ForModel();
        torch.manual_seed(options.Seed);
        using var model = task.CreateModel(modelData);
        var stage = stages.Plan.At(resume?.State.Epoch ?? 0);
        var trainable = ApplyStageFreezing(stages.Plan, model, stage);
        var optimizer = NewOptimizer(stage, trainable);
        var initializedFrom = await new FineTuneInitializer(options, observer, logger).ApplyAsync(resume is not null, model, optimizer, trainable, CancellationToken.None).ConfigureAwait(false);
        // Every rank starts from rank 0's weights (its fine-tuning source included); a resume then loads the same files everywhere.
        dataParallel?.BroadcastWeights(model);
        var classes = options.NumClasses ?? data.Train.Classes;
        var (loss, smoothedLoss) = CreateLosses(data.Train, classes);
        var hasValidation = data.Validation is not null;
        var bestMetric = BestTracker.Metric(options.BestMetric, hasValidation);
        if (options.BestMetric is { } requested && requested != BestMetricNames.None && !hasValidation)
        {
            throw new InvalidInputException($"--best-metric {requested}: {task.DatasetName} has no validation split to measure it on; set --val-fraction (0.1), or --best-metric {BestMetricNames.None}");
        }
        StageGuards.RequireBestForBestOfPrevious(stages.Plan, bestMetric);
        using var ema = RestoreEma(resume, model);
        // A staged run resumed at the very start of a stage keeps the stage's new optimizer (a new one per stage).
        var state = Restore(resume, configuration, model, stages.Plan.IsStaged && StageGuards.AtStageStart(stage, resume?.State) ? null : optimizer, data);
        stages.RestoreBestWeights(resume?.Checkpoint);
        state.InitializedFrom ??= initializedFrom;
        attempt.RecordLineage(state.InitializedFrom);
        _deadline = DeadlineGuard.For(options.Deadline, stages.Plan.Stages.Any(x => x.MaxDurationSeconds is not null), model, data.Test.Count + (data.Validation?.Count ?? 0), options.BatchSize, remote.Enabled ? () => remote.NewestCommitted?.GlobalStep : null);
        if (options.LearningRateAuto && state.FoundLearningRate is null)
        {
            state.FoundLearningRate = LearningRateSearch.Choose(task, data, model, loss, options, stopRequested);
            if (state.FoundLearningRate is { } found)
            {
                observer.OnMessage($"LR finder chose learning rate {found.ToString("G4", System.Globalization.CultureInfo.InvariantCulture)} (--lr auto)");
            }
        }
        var writer = StartCheckpointWriter(store, resume?.Checkpoint);
        var run = StageRun(stages, stage, state, model, optimizer, trainable, loss, smoothedLoss, classes, split?.ToBytes(), ema, bestMetric);
        var runLearningRate = state.FoundLearningRate ?? options.LearningRate;
        observer.OnStart(new TrainingRunInfo(
            Enumerable.Range(0, classes).Select(c => data.Train.ClassNames is { } names && c < names.Count ? names[c] : c.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList(),
            hasValidation,
            task.Metrics.Select(m => m.Name).ToList(),
            [.. state.History],
            resume is null ? null : state.GlobalStep,
            StageSchedule.Composite(stages.Plan, data.Train.Count, runLearningRate),
            StageSchedule.OptimizerStepsPerEpoch(stages.Plan.Stages[0], data.Train.Count),
            options.Epochs,
            stages.Plan.IsStaged));
        try
        {
            return await TrainAsync(run, state, writer, resumed: resume is not null, stopRequested).ConfigureAwait(false);
        }
        finally
        {
            stages.DisposeOptimizer();
        }
    }

    /// <summary>
    /// The loss, and the label-smoothed loss for unmixed batches (null without --label-smoothing). Smoothing needs the
    /// built-in cross-entropy: a task's own loss or the focal loss cannot take it (exit 2).
    /// </summary>
    private (LossFunction Loss, LossFunction? Smoothed) CreateLosses(ITrainingDataset train, int classes)
    {
        if (task.CreateLoss is { } custom)
        {
            if (options.LabelSmoothing > 0)
            {
                throw new InvalidInputException($"--label-smoothing: {task.ModelName} brings its own loss, which label smoothing cannot change; smooth the targets in that loss, or leave --label-smoothing at 0");
            }
            return (custom(train), null);
        }
        if (options.LabelSmoothing > 0 && options.Loss != LossNames.CrossEntropy)
        {
            throw new InvalidInputException($"--label-smoothing: applies to --loss {LossNames.CrossEntropy}, not {options.Loss}; use --loss {LossNames.CrossEntropy}, or leave --label-smoothing at 0");
        }
        var loss = DefaultLoss.Create(options, train, classes);
        return (loss, options.LabelSmoothing > 0 ? DefaultLoss.Create(options, train, classes, options.LabelSmoothing) : null);
    }

    /// <summary>With --ema-decay: the EMA, restored from the checkpoint's ema.bin when it has one (before the weights are restored), else started from the weights.</summary>
    private ExponentialMovingAverage? RestoreEma(SavedCheckpoint? resume, nn.Module model)
    {
        if (options.EmaDecay <= 0)
        {
            return null;
        }
        if (resume is not null && !CheckpointCodec.LoadEmaInto(resume.Checkpoint, model))
        {
            throw new InvalidInputException($"--ema-decay: checkpoint {resume.Checkpoint.Directory} has no {CheckpointCodec.EmaFile}; resume with the --ema-decay it was written with");
        }
        // Either the fresh initial weights or the saved averages: the trained weights are restored over them next.
        return new ExponentialMovingAverage(model, options.EmaDecay);
    }

    /// <summary>What one attempt trains with; <see cref="SplitBytes"/> goes into every checkpoint when there is a split.</summary>
    private sealed record Run(nn.Module<Tensor, Tensor> Model, OptimizerHelper Optimizer, LossFunction Loss, TrainingData Data, int Classes, byte[]? SplitBytes, RecipeStepper Stepper, OptimizerStepPlan Plan, ExponentialMovingAverage? Ema, string? BestMetric, Stage Stage, StageContext Stages, LossFunction? SmoothedLoss);

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
        return (ApplySplit(loaded, split), split);
    }

    /// <summary>The splits <paramref name="split"/> chooses from <paramref name="loaded"/> (as loaded, without one).</summary>
    internal static TrainingData ApplySplit(TrainingData loaded, DataSplit? split)
    {
        ArgumentNullException.ThrowIfNull(loaded);
        if (split is null)
        {
            return loaded;
        }
        var validation = split.Validation is { } v ? new SubsetDataset(loaded.Train, v) : loaded.Validation;
        return new TrainingData(new SubsetDataset(loaded.Train, split.Train), loaded.Test, validation);
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
        // Ranks above 0 resume from rank 0's choice, handed over as files, never from their own directory or the store.
        var found = dataParallel is { IsRoot: false } ? null : store?.FindNewestValid();
        if (store is not null && remote.Enabled)
        {
            var restored = await remote.RestoreNewestAsync(store.Root, found?.Manifest.GlobalStep ?? -1, CancellationToken.None).ConfigureAwait(false);
            if (restored is not null)
            {
                found = store.FindNewestValid();
            }
        }
        if (dataParallel is not null)
        {
            found = dataParallel.ShareResumePoint(found, store);
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
        // Which changed settings this resume may take (Resume.ResumeChanges): a refusal exits 2 naming the flag and the fix.
        var changes = ResumeChanges.Decide(ResumedState.Request(saved, configuration, options));
        if (changes.Refusal is { } refusal)
        {
            throw new ConfigurationMismatchException(refusal.Message(found.Directory));
        }
        foreach (var line in ResumedState.Describe(changes, saved.Epoch))
        {
            observer.OnMessage(line);
        }
        var world = dataParallel?.World ?? 1;
        var worldChange = WorldResume.Change(saved, world);
        saved = ResumedState.Apply(saved, changes, configuration, options.Epochs);
        if (worldChange is not null)
        {
            // Elastic: the global batch changed with the world (taken above as a batch-size change); the epoch goes on from its global sample index.
            saved = saved with { Lineage = [.. saved.Lineage, worldChange] };
            observer.OnMessage($"Resume changes the world size from {worldChange.From} to {worldChange.To} at global step {saved.GlobalStep} (sample {worldChange.SampleInEpoch} of epoch {saved.Epoch}); the rest of the epoch is re-sharded from there; recorded in the checkpoint's lineage");
        }
        saved.WorldSize = WorldResume.Recorded(world);
        // Known before any data is loaded, so the operator can correct status.resumeFrom from the first scrape. Named
        // by its remote URI when the store holds it (restored, or listed in latest.json), else by its local path.
        var from = remote.NewestCommitted is { } durable && durable.GlobalStep == found.Manifest.GlobalStep ? durable.Uri : found.Directory;
        attempt.RecordResume(saved.GlobalStep, saved.Epoch, saved.StepInEpoch, from);
        attempt.RecordAccuracy(saved.History.Count > 0 ? saved.History[^1].TestAccuracy : null);
        metrics.RecordResumePoint(saved.GlobalStep, saved.Epoch, saved.StepInEpoch);
        return new SavedCheckpoint(found, saved);
    }

    /// <summary>Loads the model, optimizer and RNG from the resume point, or starts a fresh state.</summary>
    private TrainingState Restore(SavedCheckpoint? resume, TrainingConfiguration configuration, nn.Module model, OptimizerHelper? optimizer, TrainingData data)
    {
        if (resume is null)
        {
            var validation = data.Validation is null ? string.Empty : $", {data.Validation.Count} validation";
            observer.OnMessage($"Starting {task.ModelName} on {task.DatasetName} ({data.Train.Count} training{validation}, {data.Test.Count} test samples), {options.Epochs} epoch(s), batch size {options.BatchSize}");
            DescribeDataParallel();
            return new TrainingState
            {
                Configuration = configuration,
                SampleInEpoch = 0,
                Epochs = options.Epochs,
                WorldSize = WorldResume.Recorded(dataParallel?.World ?? 1),
            };
        }
        var state = resume.State;
        CheckpointCodec.Restore(resume.Checkpoint, model, optimizer);
        observer.OnMessage($"Resuming at epoch {state.Epoch}, step {state.StepInEpoch} of epoch (global step {state.GlobalStep}) from {resume.Checkpoint.Directory}");
        DescribeDataParallel();
        return state;
    }

    /// <summary>The background checkpoint writer (none without --checkpoint-dir); each commit is queued for the remote store.</summary>
    private CheckpointWriter? StartCheckpointWriter(LocalCheckpointStore? store, LocalCheckpoint? resumedFrom)
    {
        // Data parallel: the ranks hold the same state, and rank 0 alone writes it.
        if (store is null || dataParallel is { IsRoot: false })
        {
            return null;
        }
        store.RemoveIncompleteWrites();
        return new CheckpointWriter(store, (committed, elapsed) =>
        {
            metrics.RecordCheckpointSaved(elapsed, committed.Manifest.Files.Sum(f => f.Size));
            _deadline.RecordCheckpoint(committed.Manifest.GlobalStep, elapsed);
            attempt.RecordLocalCheckpoint(committed);
            metrics.RecordCheckpointCommittedLocally(committed.Manifest.GlobalStep, committed.Manifest.Epoch, committed.Manifest.StepInEpoch, remote.Enabled);
            remote.Enqueue(committed);
        }) { LastCommitted = resumedFrom };
    }

    /// <summary>
    /// Trains epoch by epoch until done or stopped; a newer attempt's commit ends it between steps. A stop, and a periodic
    /// checkpoint, wait for the end of the optimizer step (with --grad-accumulation-steps, for its whole group).
    /// </summary>
    private async Task<TrainingOutcome> TrainAsync(Run run, TrainingState state, CheckpointWriter? writer, bool resumed, CancellationToken stopRequested)
    {
        var totalSteps = run.Stages.TotalBatches;
        var clock = Stopwatch.StartNew();
        var secondsBefore = state.TrainingSeconds;
        var startStep = state.GlobalStep;
        double? lastAccuracy = LastAccuracy(state);
        metrics.RecordStart(state.GlobalStep, state.Epoch, state.StepInEpoch, lastAccuracy, resumed);
        if (_startDelayMs > 0)
        {
            stopRequested.WaitHandle.WaitOne(_startDelayMs);
        }
        var last = new BatchResult(double.NaN, 0, run.Stepper.ValuesAt(state.Epoch - run.Stage.FirstEpoch, state.StepInEpoch).LearningRate, null, MixingModes.None);
        // Data parallel: a stop agreed at a step's tally, taken at the next optimizer-step boundary by every rank.
        var agreedStop = false;
        var modes = new SortedSet<string>(StringComparer.Ordinal);

        while (state.Epoch < options.Epochs)
        {
            if (state.Epoch >= run.Stage.EndEpoch)
            {
                run = NextStage(run, state);
            }
            var train = run.Data.Train;
            var stepsPerEpoch = run.Plan.BatchesPerEpoch;
            var batchSize = run.Stage.Options.BatchSize;
            run.Model.train();
            var checkpointAtEpochEnd = false;
            // Prefetched batches are dropped when the loader is disposed (a stop); a resume makes them again, the same.
            var stopped = false;
            // The epoch goes on from its sample position (re-cut there after a batch-size change, Resume.EpochPosition).
            var epochData = ResumedState.EpochData(train, state);
            var epochPlan = EpochPosition.PlanFor(run.Plan, epochData.Count, batchSize, state.StepInEpoch, state.SampleInEpoch ?? 0);
            run.Stepper.Plan = epochPlan;
            var epochSteps = epochPlan.Batches;
            // Data parallel: this rank's slice of each global batch (Distributed.EpochShard), numbered by global step.
            var shard = dataParallel?.Shard(epochData.Count, state.SampleInEpoch ?? 0, batchSize);
            var shardFirstStep = state.StepInEpoch;
            var permutation = EpochSampler.Permutation(options.Seed, state.Epoch, epochData.Count);
            using (var loader = shard is null
                ? new BatchLoader(epochData, permutation, batchSize, state.StepInEpoch, state.Epoch, options.Seed, train: true, options.LoaderWorkers, options.PrefetchBatches, state.SampleInEpoch)
                : new BatchLoader(epochData, shard.Order(permutation), shard.PerRankBatch, state.StepInEpoch, state.Epoch, options.Seed, train: true, options.LoaderWorkers, options.PrefetchBatches, firstSample: 0))
            {
                while (state.StepInEpoch < epochSteps)
                {
                    // A newer attempt owns the checkpoints: stop here, write nothing more (exit 76).
                    remote.ThrowIfSuperseded();
                    var stopDue = dataParallel is null
                        ? ((stopRequested.IsCancellationRequested || TestStopDue(state.GlobalStep, startStep)) && epochPlan.StartsGroup(state.StepInEpoch)) || _deadline.Due(state.Epoch, state.StepInEpoch, epochPlan)
                        : agreedStop && epochPlan.StartsGroup(state.StepInEpoch);
                    if (stopDue)
                    {
                        stopped = true;
                        break;
                    }
                    LoadedBatch batch;
                    int samples;
                    double lossWeight = 1;
                    if (shard is null)
                    {
                        batch = loader.Next();
                        samples = batch.Count;
                    }
                    else
                    {
                        // The global batch's samples count for the position; this rank's share weights its loss.
                        var local = shard.Local(state.StepInEpoch - shardFirstStep);
                        samples = shard.Global(state.StepInEpoch - shardFirstStep).Count;
                        batch = local.Count > 0 ? loader.Next() : EmptyBatch;
                        lossWeight = (double)local.Count / samples;
                    }
                    last = run.Stepper.Train(batch, train.SampleShape, state.Epoch - run.Stage.FirstEpoch, state.StepInEpoch, state.GlobalStep, lossWeight);
                    var localSamples = batch.Count;
                    if (batch.Count > 0)
                    {
                        _sampleTrace?.Append(state.Epoch, batch);
                    }
                    if (batch != EmptyBatch)
                    {
                        loader.Return(batch);
                    }
                    modes.Add(last.MixingMode);
                    var groupEnded = epochPlan.EndsGroup(state.StepInEpoch);
                    state.StepInEpoch++;
                    state.SampleInEpoch = (state.SampleInEpoch ?? 0) + samples;
                    state.GlobalStep++;
                    attempt.RecordPosition(state.GlobalStep, state.Epoch, state.StepInEpoch);
                    if (state.GlobalStep % FinalizeEverySteps == 0)
                    {
                        ReleaseFinalizedNativeMemory();
                    }
                    if (dataParallel is not null)
                    {
                        // Every rank ends the step with the same totals, and a stop any rank wants (its signal, a test
                        // stop, its deadline) is agreed by all, taken at the next optimizer-step boundary.
                        var wish = stopRequested.IsCancellationRequested || TestStopDue(state.GlobalStep, startStep)
                            || (state.StepInEpoch < epochSteps && _deadline.Due(state.Epoch, state.StepInEpoch, epochPlan));
                        var tally = dataParallel.Agree(new StepTally(wish, last.Loss * localSamples, localSamples, last.Correct));
                        agreedStop |= tally.Stop;
                        last = last with { Loss = tally.MeanLoss, Correct = tally.Correct };
                    }
                    state.EpochLossSum += last.Loss * samples;
                    state.EpochSamples += samples;
                    state.EpochCorrect += last.Correct;
                    if (writer is not null && groupEnded && PeriodicCheckpointDue(state.GlobalStep, epochPlan.GroupSize(state.StepInEpoch - 1)))
                    {
                        if (state.StepInEpoch == epochSteps)
                        {
                            // Due at the epoch's last batch: written after the epoch's evaluation instead, once, with the
                            // epoch's result and best in it (the same step is never written twice).
                            checkpointAtEpochEnd = true;
                        }
                        else
                        {
                            state.TrainingSeconds = secondsBefore + clock.Elapsed.TotalSeconds;
                            WritePeriodic(writer, Capture(run, state));
                        }
                    }
                    var rate = (state.GlobalStep - startStep) * (double)batchSize / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
                    var remaining = rate > 0 ? TimeSpan.FromSeconds((totalSteps - state.GlobalStep) * batchSize / rate) : (TimeSpan?)null;
                    observer.OnStep(new TrainingProgress(state.Epoch, options.Epochs, state.StepInEpoch, epochSteps, state.GlobalStep, totalSteps, last.Loss, last.LearningRate, rate, remaining, writer?.LastSubmittedStep, last.Momentum, last.MixingMode, run.Stages.Plan.IsStaged ? run.Stage.Name : null));
                    if (_stepDelayMs > 0)
                    {
                        Thread.Sleep(_stepDelayMs);
                    }
                }
            }
            if (stopped)
            {
                // The loader is gone first, so no batch is filled while the checkpoint is written.
                state.TrainingSeconds = secondsBefore + clock.Elapsed.TotalSeconds;
                return _deadline.Explain(await StopAsync(run, state, writer, lastAccuracy, _deadline.StopCause ?? "by signal").ConfigureAwait(false));
            }

            state.TrainingSeconds = secondsBefore + clock.Elapsed.TotalSeconds;
            // Every rank evaluates the same weights with rank 0's BatchNorm statistics, so all reach the same metrics and decisions.
            dataParallel?.BroadcastBuffers(run.Model);
            var epochMetrics = EvaluateEpoch(run, state, last, modes);
            modes.Clear();
            lastAccuracy = epochMetrics.TestAccuracy ?? lastAccuracy;
            var improved = epochMetrics.Best is not null && !Equals(epochMetrics.Best, state.Best);
            state.Best = epochMetrics.Best;
            state.History.Add(epochMetrics);
            var progress = new TrainingProgress(state.Epoch, options.Epochs, state.StepInEpoch, stepsPerEpoch, state.GlobalStep, totalSteps, epochMetrics.TrainLoss, last.LearningRate, 0, null, writer?.LastSubmittedStep, last.Momentum, last.MixingMode, run.Stages.Plan.IsStaged ? run.Stage.Name : null);
            state.Epoch++;
            state.StepInEpoch = 0;
            state.SampleInEpoch = 0;
            state.EpochDatasetSize = null;
            state.EpochLossSum = 0;
            state.EpochSamples = 0;
            state.EpochCorrect = 0;
            attempt.RecordPosition(state.GlobalStep, state.Epoch, state.StepInEpoch);
            attempt.RecordAccuracy(lastAccuracy);
            // A stage's end is always checkpointed, at the next stage's start (its best-of-previous weights loaded).
            var stageEnded = EndStageEpoch(run, state, epochMetrics);
            if ((improved || checkpointAtEpochEnd || stageEnded) && writer is not null)
            {
                // A new best is always a complete checkpoint of its own step; retention keeps it while it is the best.
                WritePeriodic(writer, Capture(run, state));
            }
            observer.OnEpochEnd(epochMetrics, progress);
        }

        return await FinishAsync(run, state, writer, lastAccuracy).ConfigureAwait(false);
    }

    /// <summary>
    /// A periodic (or epoch-end) checkpoint: in the background by default, so the step pays only the snapshot; with
    /// --checkpoint-write sync before the next step, so a hard kill never loses more than the interval.
    /// </summary>
    private void WritePeriodic(CheckpointWriter writer, CheckpointSnapshot snapshot)
    {
        if (options.CheckpointWrite == CheckpointWriteModes.Sync)
        {
            writer.Write(snapshot);
        }
        else
        {
            writer.StartBackgroundWrite(snapshot);
        }
    }

    /// <summary>Data parallel: what a rank trains at a step whose slice of the global batch is empty (the last, smaller than the world).</summary>
    private static readonly LoadedBatch EmptyBatch = new(0, 0);

    /// <summary>True when the optimizer step that just ended (its last <paramref name="groupSize"/> batches) passed a multiple of --checkpoint-every-steps.</summary>
    private bool PeriodicCheckpointDue(long globalStep, int groupSize) =>
        options.CheckpointEverySteps > 0 && globalStep / options.CheckpointEverySteps != (globalStep - groupSize) / options.CheckpointEverySteps;

    /// <summary>The accuracy a run reports: the newest test accuracy in its history (at the end only, with a validation split).</summary>
    private static double? LastAccuracy(TrainingState state) => state.History.LastOrDefault(h => h.TestAccuracy is not null)?.TestAccuracy;

    /// <summary>
    /// The epoch's report. With a validation split: validation accuracy and loss of the trained weights (and of the EMA
    /// weights), the best so far by --best-metric, and the test split only after the last epoch, so no choice ever
    /// reads it. Without one: the test split every epoch, as before. Per-class accuracy on validation if any, else test.
    /// </summary>
    private EpochMetrics EvaluateEpoch(Run run, TrainingState state, BatchResult last, IReadOnlyCollection<string> modes)
    {
        var validationData = run.Data.Validation;
        var testNow = validationData is null || state.Epoch == options.Epochs - 1;
        var test = testNow ? Evaluate(run, run.Data.Test, state) : null;
        var extra = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (name, value) in test?.Metrics ?? new Dictionary<string, double>())
        {
            extra["test." + name] = value;
        }
        EvaluationResult? validation = null;
        EvaluationResult? emaValidation = null;
        if (validationData is not null)
        {
            validation = Evaluate(run, validationData, state);
            foreach (var (name, value) in validation.Metrics)
            {
                extra["validation." + name] = value;
            }
            if (run.Ema is not null)
            {
                using (run.Ema.SwapIn())
                {
                    emaValidation = Evaluate(run, validationData, state);
                }
            }
        }
        var mixing = modes.Where(m => m != MixingModes.None).ToList();
        var metrics = new EpochMetrics(
            state.Epoch,
            state.GlobalStep,
            state.EpochSamples > 0 ? state.EpochLossSum / state.EpochSamples : double.NaN,
            test?.Accuracy,
            last.LearningRate,
            validation?.Accuracy,
            (validation ?? test)?.ClassAccuracy,
            validation is null ? "test" : "validation",
            extra.Count == 0 ? null : extra,
            validation?.Loss,
            state.EpochSamples > 0 ? (double)state.EpochCorrect / state.EpochSamples : null,
            last.Momentum,
            mixing.Count == 0 ? MixingModes.None : string.Join('+', mixing),
            state.TrainingSeconds,
            emaValidation?.Accuracy,
            emaValidation?.Loss);
        if (run.BestMetric is not { } metric)
        {
            return metrics;
        }
        var weights = options.ResolvedBestWeights;
        var best = BestTracker.Next(state.Best, metric, weights, BestTracker.Value(metric, weights, metrics), state.GlobalStep, state.Epoch);
        return metrics with { Best = best };
    }

    private EvaluationResult Evaluate(Run run, ITrainingDataset data, TrainingState state) =>
        Evaluation.Run(run.Model, data, run.Classes, task.Metrics, options.Seed, state.Epoch, options.LoaderWorkers, options.PrefetchBatches);

    /// <summary>The checkpoint of this instant (with the EMA weights, the best so far and the data split when there are).</summary>
    private static CheckpointSnapshot Capture(Run run, TrainingState state)
    {
        var snapshot = CheckpointCodec.Capture(run.Model, run.Optimizer, state, run.Ema);
        snapshot = run.Stages.BestWeightsFile(run.Stage) is { } best ? snapshot with { Files = [.. snapshot.Files, best] } : snapshot;
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
        // Data parallel: no rank reports completion before rank 0 has committed the final checkpoint.
        AfterRootCommitted();
        var message = $"Completed {options.Epochs} epoch(s) at global step {state.GlobalStep}; test accuracy {lastAccuracy:F4}";
        observer.OnMessage(message);
        RecordEnding(state, final, lastAccuracy);
        return new TrainingOutcome.Completed(message);
    }

    private async Task<TrainingOutcome> StopAsync(Run run, TrainingState state, CheckpointWriter? writer, double? accuracy, string cause)
    {
        var clock = Stopwatch.StartNew();
        if (dataParallel is { IsRoot: false } && options.CheckpointDirectory is not null)
        {
            // Rank 0 writes the agreed step's checkpoint (the ranks hold the same state); this rank waits until it is committed.
            AfterRootCommitted();
            var followed = $"Stopped {cause} after global step {state.GlobalStep} (epoch {state.Epoch}, step {state.StepInEpoch} of epoch) with all {dataParallel.World} ranks; rank 0 wrote the checkpoint";
            observer.OnMessage(followed);
            RecordEnding(state, null, accuracy);
            return new TrainingOutcome.Interrupted(followed);
        }
        if (writer is null)
        {
            var lost = $"Stopped {cause} at global step {state.GlobalStep} without --checkpoint-dir: progress is lost";
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
        AfterRootCommitted();
        var message = $"Stopped {cause} after global step {state.GlobalStep} (epoch {state.Epoch}, step {state.StepInEpoch} of epoch); checkpoint {checkpoint!.Directory} written in {clock.Elapsed.TotalSeconds:F2} s";
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

    /// <summary>
    /// Data parallel: the barrier after rank 0's commit (of the stop or the final checkpoint), so no rank exits before the
    /// checkpoint it reports is durable. On rank 0 a peer lost here no longer matters: its checkpoint is committed.
    /// </summary>
    private void AfterRootCommitted()
    {
        if (dataParallel is null)
        {
            return;
        }
        try
        {
            dataParallel.Barrier();
        }
        catch (CollectiveException e) when (dataParallel.IsRoot)
        {
            LogBarrierLost(logger, e.Message);
        }
    }

    private void DescribeDataParallel()
    {
        if (dataParallel is not null)
        {
            observer.OnMessage($"Data parallel: rank {dataParallel.Rank} of {dataParallel.World} ({options.DistBackend}), global batch {options.BatchSize} ({options.BatchSize / dataParallel.World} per rank); rank 0 writes the checkpoints");
        }
    }

    private static void ReleaseFinalizedNativeMemory()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "A peer was lost after rank 0 committed its checkpoint: {Message}")]
    private static partial void LogBarrierLost(ILogger logger, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Remote upload incomplete: {Backlog} checkpoint(s) not committed within {Seconds} s")]
    private static partial void LogUploadIncomplete(ILogger logger, int backlog, int seconds);
}
