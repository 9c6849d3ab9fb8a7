using K8sTraining.Contract;
using K8sTraining.Training.Loop;
using K8sTraining.Training.Schedules;

namespace K8sTraining.Training.Stages;

/// <summary>
/// The learning-rate schedule one stage trains under, as a pure function of the plan and the size of the training split.
/// Scope <see cref="ScheduleScopeNames.Stage"/>: the stage's own schedule over the stage's optimizer steps. Scope
/// <see cref="ScheduleScopeNames.Global"/>: one schedule (the training's) over the optimizer steps of all the stages,
/// each stage reading it from where the previous stages' steps end (so a stage with a larger batch size takes fewer
/// steps, and a smaller share of the curve), scaled by the stage's learningRate/lrScale relative to the run's.
/// </summary>
/// <param name="Schedule">The schedule.</param>
/// <param name="Offset">The optimizer steps of the earlier stages (global scope), added to the stage's own position.</param>
/// <param name="Scale">Multiplies the schedule's learning rate (global scope: the stage's lr relative to the run's).</param>
public sealed record StageSchedule(LearningRateSchedule Schedule, long Offset, double Scale)
{
    /// <summary>Optimizer steps per epoch of <paramref name="stage"/> on a training split of <paramref name="trainCount"/> samples.</summary>
    public static int OptimizerStepsPerEpoch(Stage stage, int trainCount)
    {
        ArgumentNullException.ThrowIfNull(stage);
        var samples = StageSubset.Size(trainCount, stage.DataFraction);
        var batches = (samples + stage.Options.BatchSize - 1) / stage.Options.BatchSize;
        return new OptimizerStepPlan(batches, stage.Options.GradAccumulationSteps).OptimizerStepsPerEpoch;
    }

    /// <summary>
    /// The schedule of <paramref name="stage"/>; <paramref name="runLearningRate"/> is the run's peak (--lr, or the LR
    /// finder's choice). Without --stages it is exactly the run's schedule.
    /// </summary>
    public static StageSchedule For(StagePlan plan, Stage stage, int trainCount, double runLearningRate)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(stage);
        var perEpoch = OptimizerStepsPerEpoch(stage, trainCount);
        if (!plan.IsStaged)
        {
            return new StageSchedule(ScheduleFactory.For(stage.Options, perEpoch, runLearningRate), 0, 1);
        }
        var stageLearningRate = stage.LearningRateFor(runLearningRate);
        if (plan.ScheduleScope == ScheduleScopeNames.Stage)
        {
            return new StageSchedule(ScheduleFactory.For(stage.Options, perEpoch, stageLearningRate), 0, 1);
        }
        // Global: epoch-based settings (warmup epochs, milestones, exponential's per-epoch gamma, the default step size)
        // are counted in the first stage's optimizer steps per epoch.
        var steps = plan.Stages.Select(s => (long)OptimizerStepsPerEpoch(s, trainCount) * s.Epochs).ToList();
        var first = plan.Stages[0];
        var runOptions = first.Options with { Epochs = plan.TotalEpochs, LearningRate = runLearningRate };
        var schedule = ScheduleFactory.For(runOptions, OptimizerStepsPerEpoch(first, trainCount), runLearningRate) with { TotalSteps = steps.Sum() };
        var scale = runLearningRate > 0 ? stageLearningRate / runLearningRate : 1;
        return new StageSchedule(schedule, steps.Take(stage.Index).Sum(), scale);
    }

    /// <summary>
    /// The learning rate and momentum at each optimizer step of the whole run (the schedule plot): stage by stage, each
    /// stage's own schedule at its position. Without --stages, the run's schedule.
    /// </summary>
    public static Func<long, ScheduledValues> Composite(StagePlan plan, int trainCount, double runLearningRate)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var schedules = plan.Stages.Select(s => (Steps: (long)OptimizerStepsPerEpoch(s, trainCount) * s.Epochs, Schedule: For(plan, s, trainCount, runLearningRate))).ToList();
        return step =>
        {
            var start = 0L;
            foreach (var (steps, schedule) in schedules)
            {
                if (step < start + steps || ReferenceEquals(schedule, schedules[^1].Schedule))
                {
                    var values = schedule.Schedule.At(schedule.Offset + Math.Max(0, step - start));
                    return values with { LearningRate = values.LearningRate * schedule.Scale };
                }
                start += steps;
            }
            return schedules[^1].Schedule.Schedule.At(0);
        };
    }
}
