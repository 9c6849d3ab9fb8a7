using K8sTraining.Contract;
using K8sTraining.Training.Options;
using K8sTraining.Training.Stages;

namespace K8sTraining.Trainer.Tests.Unit.Stages;

[Trait("Category", "Unit")]
public sealed class StageScheduleTests
{
    private const string TwoStages = """[{"name":"a","epochs":2,"batchSize":50},{"name":"b","epochs":2,"batchSize":100,"lrScale":0.5}]""";

    private static StagePlan Plan(string scope) =>
        StagePlan.From(OptionsParser.Parse(["--stages", TwoStages, "--schedule-scope", scope, "--scheduler", SchedulerNames.Linear, "--lr", "0.1", "--batch-size", "64"], _ => null));

    [Fact]
    public void For_Should_RunOneScheduleOverEveryStagesSteps_When_TheScopeIsGlobal()
    {
        var plan = Plan(ScheduleScopeNames.Global);

        var first = StageSchedule.For(plan, plan.Stages[0], 1000, 0.1);
        var second = StageSchedule.For(plan, plan.Stages[1], 1000, 0.1);

        // 20 steps an epoch at batch 50, then 10 at batch 100: 40 + 20 optimizer steps in all.
        Assert.Equal((60L, 0L, 1.0), (first.Schedule.TotalSteps, first.Offset, first.Scale));
        Assert.Equal((60L, 40L, 0.5), (second.Schedule.TotalSteps, second.Offset, second.Scale));
        // One curve: the second stage starts two thirds down the linear decay, at half the run's rate.
        Assert.Equal((first.Schedule.Kind, first.Schedule.BaseLearningRate), (second.Schedule.Kind, second.Schedule.BaseLearningRate));
        Assert.Equal(0.1 * (1 - (40.0 / 60)) * 0.5, second.Schedule.At(second.Offset).LearningRate * second.Scale, 12);
    }

    [Fact]
    public void For_Should_RunEachStagesOwnSchedule_When_TheScopeIsStage()
    {
        var plan = Plan(ScheduleScopeNames.Stage);

        var first = StageSchedule.For(plan, plan.Stages[0], 1000, 0.1);
        var second = StageSchedule.For(plan, plan.Stages[1], 1000, 0.1);

        Assert.Equal((40L, 0L, 0.1), (first.Schedule.TotalSteps, first.Offset, first.Schedule.BaseLearningRate));
        Assert.Equal((20L, 0L, 0.05), (second.Schedule.TotalSteps, second.Offset, second.Schedule.BaseLearningRate));
    }

    [Fact]
    public void Composite_Should_FollowEachStagesSchedule_When_StepsCrossAStageBoundary()
    {
        var plan = Plan(ScheduleScopeNames.Stage);
        var at = StageSchedule.Composite(plan, 1000, 0.1);

        Assert.Equal(0.1, at(0).LearningRate, 12);
        Assert.Equal(0.05, at(40).LearningRate, 12);
        Assert.True(at(39).LearningRate < 0.01, $"the first stage's linear decay ends near 0, got {at(39).LearningRate}");
    }

    [Fact]
    public void OptimizerStepsPerEpoch_Should_CountTheStagesFraction_When_ItHasOne()
    {
        var plan = StagePlan.From(OptionsParser.Parse(["--stages", """[{"name":"a","epochs":1,"dataFraction":0.5,"batchSize":30}]"""], _ => null));
        Assert.Equal(6, StageSchedule.OptimizerStepsPerEpoch(plan.Stages[0], 360));
    }
}
