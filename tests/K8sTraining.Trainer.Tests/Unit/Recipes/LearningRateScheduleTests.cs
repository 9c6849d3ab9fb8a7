using K8sTraining.Contract;
using K8sTraining.Training.Schedules;

namespace K8sTraining.Trainer.Tests.Unit.Recipes;

[Trait("Category", "Unit")]
public sealed class LearningRateScheduleTests
{
    private const long Total = 100;

    public static TheoryData<string, LearningRateSchedule, long, double> Cases => new()
    {
        { "constant", new(SchedulerNames.Constant, 0.1, 0, Total, 10), 57, 0.1 },
        { "warmup first step", new(SchedulerNames.Constant, 0.1, 0, Total, 10, WarmupSteps: 10), 0, 0.01 },
        { "warmup last step reaches the base", new(SchedulerNames.Constant, 0.1, 0, Total, 10, WarmupSteps: 10), 9, 0.1 },
        { "step before the first drop", new(SchedulerNames.Step, 0.1, 0, Total, 10, Gamma: 0.5, StepSize: 30), 29, 0.1 },
        { "step after two drops", new(SchedulerNames.Step, 0.1, 0, Total, 10, Gamma: 0.5, StepSize: 30), 60, 0.025 },
        { "step counts after warmup", new(SchedulerNames.Step, 0.1, 0, Total, 10, WarmupSteps: 10, Gamma: 0.5, StepSize: 30), 39, 0.1 },
        { "multistep at a milestone", new(SchedulerNames.MultiStep, 0.1, 0, Total, 10, Gamma: 0.1, Milestones: [50, 80]), 50, 0.01 },
        { "multistep past both", new(SchedulerNames.MultiStep, 0.1, 0, Total, 10, Gamma: 0.1, Milestones: [50, 80]), 99, 0.001 },
        { "exponential gamma is per epoch", new(SchedulerNames.Exponential, 0.1, 0, Total, 10, Gamma: 0.5), 20, 0.025 },
        { "exponential between epochs", new(SchedulerNames.Exponential, 0.1, 0, Total, 10, Gamma: 0.25), 5, 0.05 },
        { "cosine starts at the base", new(SchedulerNames.Cosine, 0.1, 0.001, Total, 10), 0, 0.1 },
        { "cosine halfway", new(SchedulerNames.Cosine, 0.1, 0.0, Total, 10), 50, 0.05 },
        { "cosine ends at the minimum", new(SchedulerNames.Cosine, 0.1, 0.001, Total, 10), 100, 0.001 },
        { "cosine halfway after warmup", new(SchedulerNames.Cosine, 0.1, 0.0, 110, 10, WarmupSteps: 10), 60, 0.05 },
        { "linear a quarter in", new(SchedulerNames.Linear, 0.1, 0.02, Total, 10), 25, 0.08 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void At_Should_GiveTheScheduledRate_When_AskedForAStep(string name, LearningRateSchedule schedule, long step, double expected)
    {
        _ = name;

        var values = schedule.At(step);

        Assert.Equal(expected, values.LearningRate, 12);
        Assert.Null(values.Momentum);
    }

    // Reference values of PyTorch 1.13's OneCycleLR(max_lr=0.1, total_steps=100) with its defaults (pct_start 0.3,
    // div_factor 25, final_div_factor 1e4, cos annealing, base/max momentum 0.85/0.95), from the formulas in
    // torch/optim/lr_scheduler.py: phase 1 ends at step 29, phase 2 at 99.
    [Theory]
    [InlineData(0, 0.004, 0.95)]
    [InlineData(29, 0.1, 0.85)]
    [InlineData(99, 0.004 / 1e4, 0.95)]
    public void OneCycle_Should_MatchPyTorch_When_AtThePhaseEnds(long step, double lr, double momentum)
    {
        var schedule = new LearningRateSchedule(SchedulerNames.OneCycle, 0.1, 0, Total, 10);

        var values = schedule.At(step);

        Assert.Equal(lr, values.LearningRate, 12);
        Assert.Equal(momentum, values.Momentum!.Value, 12);
    }

    [Fact]
    public void OneCycle_Should_RiseThenFallWithMomentumOpposite_When_Stepped()
    {
        var schedule = new LearningRateSchedule(SchedulerNames.OneCycle, 0.1, 0, Total, 10);
        var values = Enumerable.Range(0, (int)Total).Select(s => schedule.At(s)).ToList();

        var peak = values.IndexOf(values.MaxBy(v => v.LearningRate));
        Assert.Equal(29, peak);
        for (var s = 1; s < values.Count; s++)
        {
            var rising = s <= peak;
            Assert.Equal(rising, values[s].LearningRate > values[s - 1].LearningRate);
            Assert.Equal(rising, values[s].Momentum < values[s - 1].Momentum);
        }
    }

    [Fact]
    public void At_Should_BeAPureFunctionOfTheStep_When_AskedInAnyOrder()
    {
        var schedule = new LearningRateSchedule(SchedulerNames.Cosine, 0.1, 0.001, Total, 10, WarmupSteps: 5);
        var forward = Enumerable.Range(0, 100).Select(s => schedule.At(s)).ToList();
        var backward = Enumerable.Range(0, 100).Reverse().Select(s => schedule.At(s)).Reverse().ToList();

        Assert.Equal(forward, backward);
    }
}
