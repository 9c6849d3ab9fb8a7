using K8sTraining.Training.Loop;

namespace K8sTraining.Trainer.Tests.Unit.Recipes;

[Trait("Category", "Unit")]
public sealed class OptimizerStepPlanTests
{
    public static TheoryData<string, int, int, int, bool, bool, int, long> Cases => new()
    {
        // name, batches per epoch, accumulation, step in epoch, starts group, ends group, group size, optimizer step (epoch 2)
        { "no accumulation: every batch a step", 10, 1, 3, true, true, 1, 23 },
        { "first of a pair", 10, 2, 4, true, false, 2, 12 },
        { "second of a pair", 10, 2, 5, false, true, 2, 12 },
        { "short last group of the epoch", 10, 4, 9, false, true, 2, 8 },
        { "last group starts", 10, 4, 8, true, false, 2, 8 },
        { "single leftover batch", 9, 4, 8, true, true, 1, 8 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Plan_Should_GroupBatchesIntoOptimizerSteps_When_Accumulating(string name, int batches, int accumulation, int stepInEpoch, bool starts, bool ends, int size, long optimizerStep)
    {
        var plan = new OptimizerStepPlan(batches, accumulation);

        Assert.True((starts, ends, size, optimizerStep) == (plan.StartsGroup(stepInEpoch), plan.EndsGroup(stepInEpoch), plan.GroupSize(stepInEpoch), plan.OptimizerStep(2, stepInEpoch)), name);
    }

    [Theory]
    [InlineData(10, 1, 10)]
    [InlineData(10, 3, 4)]
    [InlineData(12, 2, 6)]
    public void OptimizerStepsPerEpoch_Should_CountTheShortLastGroup_When_BatchesDoNotDivide(int batches, int accumulation, int expected) =>
        Assert.Equal(expected, new OptimizerStepPlan(batches, accumulation).OptimizerStepsPerEpoch);
}
