using K8sTraining.Training.Distributed;
using K8sTraining.Training.Loop;

namespace K8sTraining.Trainer.Tests.Distributed;

[Trait("Category", "Unit")]
public sealed class StepTallyTests
{
    [Theory]
    [InlineData("nobody stops", 0, false)]
    [InlineData("one rank stops", 1, true)]
    [InlineData("every rank of three stops", 3, true)]
    public void FromSums_Should_AgreeToStop_When_AnyRankAsked(string name, double stopVotes, bool expected)
    {
        Assert.True(StepTally.FromSums([stopVotes, 6.0, 12, 7]).Stop == expected, name);
    }

    [Fact]
    public void FromSums_Should_RoundTripTheValues_When_Summed()
    {
        var a = new StepTally(false, 3.5, 8, 5);
        var b = new StepTally(true, 1.5, 2, 1);
        var sums = a.ToValues().Zip(b.ToValues(), (x, y) => x + y).ToArray();

        var total = StepTally.FromSums(sums);

        Assert.Equal(new StepTally(true, 5.0, 10, 6), total);
        Assert.Equal(0.5, total.MeanLoss);
        Assert.Equal(0, new StepTally(false, 0, 0, 0).MeanLoss);
    }

    [Theory]
    [InlineData("same world", 2, 2, false)]
    [InlineData("shrunk", 2, 1, true)]
    [InlineData("grown from one process", 1, 2, true)]
    public void Change_Should_RecordTheWorldSize_When_ResumedAtAnother(string name, int saved, int now, bool recorded)
    {
        var state = new TrainingState { Configuration = new TrainingConfiguration("mlp", "synthetic", 10, 1, 8, "adamw", 0.1, 1), GlobalStep = 7, SampleInEpoch = 40, WorldSize = WorldResume.Recorded(saved) };

        var change = WorldResume.Change(state, now);

        Assert.True(recorded == change is not null, name);
        if (change is not null)
        {
            Assert.Equal((7L, (int?)40, saved.ToString(System.Globalization.CultureInfo.InvariantCulture), now.ToString(System.Globalization.CultureInfo.InvariantCulture)), (change.GlobalStep, change.SampleInEpoch, change.From, change.To));
        }
        Assert.Null(WorldResume.Recorded(1));
    }
}
