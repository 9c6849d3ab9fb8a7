using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;
using K8sTraining.Training.Optimization;
using K8sTraining.Training.Regularization;
using K8sTraining.Training.Stages;
using K8sTraining.Training.Tasks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace K8sTraining.Training.Loop;

/// <summary>
/// The stage-driving part of the loop (--stages): entering a stage (its data, frozen layers, new optimizer, schedule and
/// mixing) and ending one (its best and last weights as artefacts, then the next stage's starting weights). A run
/// without --stages is one implicit stage, for which all of this reduces to the run as it always was.
/// </summary>
public sealed partial class TrainingLoop
{
    /// <summary>
    /// Test-only: global steps (comma-separated) at which an attempt stops as if signalled, unless it resumed there; so a
    /// test can stop a run exactly at a stage boundary, which a signal cannot aim at.
    /// </summary>
    internal const string StopAtStepsEnvironmentVariable = "K8STRAINING_TEST_STOP_AT_STEPS";

    private readonly HashSet<long> _stopAtSteps = [.. (Environment.GetEnvironmentVariable(StopAtStepsEnvironmentVariable) ?? "")
        .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(v => long.Parse(v, System.Globalization.CultureInfo.InvariantCulture))];

    private bool TestStopDue(long globalStep, long startStep) => globalStep != startStep && _stopAtSteps.Contains(globalStep);

    /// <summary>Freezes what <paramref name="stage"/> freezes (after checking every stage's prefixes against the model), and returns the trainable parameters.</summary>
    private static IReadOnlyList<Parameter> ApplyStageFreezing(StagePlan plan, nn.Module model, Stage stage)
    {
        foreach (var other in plan.Stages.Where(s => s != stage && s.Options.Freeze.Count > 0))
        {
            ParameterFreezing.Apply(model, other.Options.Freeze);
        }
        return ParameterFreezing.Apply(model, stage.Options.Freeze);
    }

    private static OptimizerHelper NewOptimizer(Stage stage, IReadOnlyList<Parameter> trainable)
    {
        var o = stage.Options;
        return new OptimizerSettings(o.Optimizer, o.LearningRate, o.Momentum, o.Nesterov, o.WeightDecay).Create(trainable);
    }

    /// <summary>What <paramref name="stage"/> trains with: its data, schedule and mixing, around the model, losses and EMA of the run.</summary>
    private Run StageRun(StageContext stages, Stage stage, TrainingState state, nn.Module<Tensor, Tensor> model, OptimizerHelper optimizer, IReadOnlyList<Parameter> trainable,
        LossFunction loss, LossFunction? smoothedLoss, int classes, byte[]? splitBytes, ExponentialMovingAverage? ema, string? bestMetric)
    {
        stages.Replace(optimizer);
        // A stage's maxDurationSeconds counts from here: the stage's start, or its resume in this attempt.
        _deadline.EnterStage(stage.Name, stage.MaxDurationSeconds);
        var data = stages.For(stage);
        var o = stage.Options;
        var plan = new OptimizerStepPlan((data.Train.Count + o.BatchSize - 1) / o.BatchSize, o.GradAccumulationSteps);
        var schedule = StageSchedule.For(stages.Plan, stage, stages.TrainCount, K8sTraining.Training.Resume.ResumedState.BaseLearningRate(state, options));
        var mixing = new BatchMixing(o.MixupAlpha, o.CutMixAlpha, o.MixProbability);
        var stepper = new RecipeStepper(model, optimizer, trainable, loss, smoothedLoss, mixing, stage.MixUntilEpoch, ema, schedule.Schedule, plan, o.GradClipNorm, options.Seed, schedule.Offset, schedule.Scale);
        // Data parallel: the gradients are summed over the ranks before clipping and the optimizer step.
        stepper.Gradients = dataParallel?.Gradients(trainable);
        if (stages.Plan.Report(stage) is { } report)
        {
            state.Stage = stage.Index;
            state.StageName = stage.Name;
            state.Stages = options.Stages;
            state.ScheduleScope = options.ScheduleScope;
            attempt.RecordStage(report);
            metrics.RecordStage(stage.Index, stage.Name);
            observer.OnMessage($"Stage {stage.Index + 1}/{stages.Plan.Stages.Count} '{stage.Name}': epochs {stage.FirstEpoch + 1}-{stage.EndEpoch} of {stages.Plan.TotalEpochs}, "
                + $"{data.Train.Count} training samples ({stage.DataFraction.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)} of the split), "
                + $"image size {(data.Train.SampleShape.Count == 3 ? data.Train.SampleShape[2].ToString(System.Globalization.CultureInfo.InvariantCulture) : "n/a")}, batch size {o.BatchSize}, "
                + $"mixing {(stage.MixUntilEpoch > 0 && mixing.Enabled ? "on" : "off")}, {trainable.Count} trainable tensors, a new optimizer (--epochs is ignored with --stages)");
        }
        return new Run(model, optimizer, loss, data, classes, splitBytes, stepper, plan, ema, bestMetric, stage, stages, smoothedLoss);
    }

    /// <summary>Enters the stage after <paramref name="run"/>'s: its frozen layers and a new optimizer (the previous stage's state is dropped).</summary>
    private Run NextStage(Run run, TrainingState state)
    {
        var stage = run.Stages.Plan.At(state.Epoch);
        var trainable = ParameterFreezing.Apply(run.Model, stage.Options.Freeze);
        var optimizer = NewOptimizer(stage, trainable);
        return StageRun(run.Stages, stage, state, run.Model, optimizer, trainable, run.Loss, run.SmoothedLoss, run.Classes, run.SplitBytes, run.Ema, run.BestMetric);
    }

    /// <summary>
    /// After an epoch's evaluation (the position already at the next epoch): the stage's best so far, written to
    /// stages/NAME/best/ when it improved; at the stage's last epoch its last weights to stages/NAME/last/, then the next
    /// stage's starting weights (best-of-previous: the stage's best, the EMA restarted from them). True at a stage's end.
    /// </summary>
    private bool EndStageEpoch(Run run, TrainingState state, EpochMetrics epoch)
    {
        var stages = run.Stages;
        if (!stages.Plan.IsStaged)
        {
            return false;
        }
        var stage = run.Stage;
        var root = options.CheckpointDirectory;
        if (run.BestMetric is { } metric)
        {
            var weights = options.ResolvedBestWeights;
            var best = BestTracker.Next(state.StageBest, metric, weights, BestTracker.Value(metric, weights, epoch), epoch.GlobalStep, epoch.Epoch);
            if (best is not null && !Equals(best, state.StageBest))
            {
                state.StageBest = best;
                var files = WeightFiles(run);
                stages.BestWeights = weights == BestWeightsNames.Ema && run.Ema is not null ? files.First(f => f.Name == CheckpointCodec.EmaFile).Bytes : files[0].Bytes;
                if (root is not null)
                {
                    StageArtifacts.Write(root, stage.Name, ArtifactLayout.StageBestFolderName, files, new StageArtifactInfo(stage.Name, stage.Index, epoch.Epoch, epoch.GlobalStep, best));
                }
            }
        }
        if (state.Epoch < stage.EndEpoch)
        {
            return false;
        }
        if (root is not null)
        {
            StageArtifacts.Write(root, stage.Name, ArtifactLayout.StageLastFolderName, WeightFiles(run), new StageArtifactInfo(stage.Name, stage.Index, epoch.Epoch, epoch.GlobalStep, state.StageBest));
        }
        if (stage.Index + 1 >= stages.Plan.Stages.Count)
        {
            return true;
        }
        var next = stages.Plan.Stages[stage.Index + 1];
        if (next.InitFrom == StageInitFromNames.BestOfPrevious && stages.BestWeights is { } bestWeights)
        {
            LoadWeights(run.Model, bestWeights);
            run.Ema?.Restart();
            observer.OnMessage($"Stage '{next.Name}' starts from the best weights of '{stage.Name}' (epoch {state.StageBest!.Epoch + 1}, {state.StageBest.Metric} {state.StageBest.Value.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture)})");
        }
        // The checkpoint written now is the next stage's start: its position, and no best of its own yet.
        state.Stage = next.Index;
        state.StageName = next.Name;
        state.StageBest = null;
        stages.BestWeights = null;
        return true;
    }

    /// <summary>The weights as artefact files: model.bin, and ema.bin with an EMA.</summary>
    private static List<(string Name, byte[] Bytes)> WeightFiles(Run run)
    {
        var files = new List<(string Name, byte[] Bytes)> { (CheckpointCodec.ModelFile, CheckpointCodec.ModelBytes(run.Model)) };
        if (run.Ema is not null)
        {
            using (run.Ema.SwapIn())
            {
                files.Add((CheckpointCodec.EmaFile, CheckpointCodec.ModelBytes(run.Model)));
            }
        }
        return files;
    }

    private static void LoadWeights(nn.Module model, byte[] weights)
    {
        using var reader = new BinaryReader(new MemoryStream(weights, writable: false));
        model.load(reader);
    }
}
