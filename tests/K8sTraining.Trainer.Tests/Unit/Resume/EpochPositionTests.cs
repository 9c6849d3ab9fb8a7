using K8sTraining.Training.Data;
using K8sTraining.Training.Loop;
using K8sTraining.Training.Resume;

namespace K8sTraining.Trainer.Tests.Unit.Resume;

[Trait("Category", "Unit")]
public sealed class EpochPositionTests
{
    [Theory]
    // name, count, batch size, step in epoch, sample in epoch, expected batches, expected shift
    [InlineData("aligned: the regular cut", 100, 10, 3, 30, 10, 0)]
    [InlineData("smaller batches from sample 48", 100, 10, 3, 48, 9, 1)]
    [InlineData("larger batches from sample 48", 100, 32, 6, 48, 8, -5)]
    [InlineData("a shorter epoch while a samples change waits", 60, 10, 0, 0, 6, 0)]
    public void PlanFor_Should_CutTheRestOfTheEpochFromTheSamplePosition_When_ItIsNotTheRegularCut(string name, int count, int batchSize, int step, int sample, int batches, int shift)
    {
        var regular = new OptimizerStepPlan((100 + batchSize - 1) / batchSize, 1);

        var plan = EpochPosition.PlanFor(regular, count, batchSize, step, sample);

        Assert.True((batches, shift) == (plan.Batches, plan.StepShift), $"{name}: {plan}");
        if (shift == 0 && count == 100)
        {
            Assert.Same(regular, plan);
        }
    }

    [Fact]
    public void PlanFor_Should_ReadTheScheduleAtTheSamplePositionsBatchAndEndTheLastGroup_When_TheEpochIsReCut()
    {
        var regular = new OptimizerStepPlan(10, 2);

        var plan = EpochPosition.PlanFor(regular, 100, 10, 4, 52);

        // Sample 52 lies in batch 5 of the regular cut at batch size 10: optimizer step 2 of the epoch (5 per epoch).
        Assert.Equal(12, plan.OptimizerStep(2, 4));
        // The re-cut epoch has 9 batches: its last (8) ends a group of one, where the regular plan would wait for a 10th.
        Assert.Equal((true, 1, false), (plan.EndsGroup(8), plan.GroupSize(8), regular.EndsGroup(8)));
    }

    [Fact]
    public void SampleInEpoch_Should_BeStepTimesTheSavedBatchSize_When_TheStatePredatesTheField()
    {
        var state = TrainingState.Parse(System.Text.Encoding.UTF8.GetBytes("""
            {"configuration":{"model":"mlp","dataset":"synthetic","samples":256,"seed":1,"batchSize":16,"optimizer":"adamw","learningRate":0.001,"learningRateGamma":1},
             "epoch":1,"stepInEpoch":5,"globalStep":21}
            """));

        Assert.Equal(80, EpochPosition.SampleInEpoch(state));
        Assert.Empty(state.Lineage);
        Assert.Null(state.LearningRateScale);
    }

    [Theory]
    // name, count, old batch size, stop after batches, new batch size
    [InlineData("smaller", 50, 8, 3, 5)]
    [InlineData("larger", 50, 4, 7, 16)]
    [InlineData("same", 50, 8, 2, 8)]
    public void Next_Should_SeeEverySampleOnce_When_ThePassIsReCutFromASampleOffset(string name, int count, int oldBatch, int stop, int newBatch)
    {
        var data = FakeDataset.WithCounts(count);
        var order = EpochSampler.Permutation(3, 1, count);
        var seen = new List<int>();
        using (var before = new BatchLoader(data, order, oldBatch, 0, 1, 3, train: true, 2, 2))
        {
            for (var i = 0; i < stop; i++)
            {
                var batch = before.Next();
                seen.AddRange(batch.Indices.Take(batch.Count));
                before.Return(batch);
            }
        }
        var sample = seen.Count;

        using var after = new BatchLoader(data, order, newBatch, stop, 1, 3, train: true, 2, 2, firstSample: sample);
        for (var step = stop; step < after.Steps; step++)
        {
            var batch = after.Next();
            Assert.Equal(order.AsSpan(sample + ((step - stop) * newBatch), batch.Count).ToArray(), batch.Indices.Take(batch.Count));
            seen.AddRange(batch.Indices.Take(batch.Count));
            after.Return(batch);
        }

        Assert.True(order.SequenceEqual(seen), name);
        Assert.Equal(new EpochSampler(3, 1, count, newBatch).BatchFrom(sample).ToArray(), order.AsSpan(sample, Math.Min(newBatch, count - sample)).ToArray());
    }
}
