using K8sTraining.Chaos.Cluster;

namespace K8sTraining.Chaos.Tests;

[Trait("Category", "Unit")]
public sealed class NodeLossJudgementTests
{
    [Theory]
    [InlineData("resumed from the checkpoint named at the loss", 57, 40, 40, true)]
    [InlineData("a zombie committed on: resumed from a newer checkpoint", 57, 40, 80, true)]
    [InlineData("lost exactly the interval", 80, 40, 40, true)]
    [InlineData("the last boundary's upload was in flight: one checkpoint more", 85, 40, 40, true)]
    [InlineData("resumed behind latest.json at the loss", 57, 40, 0, false)]
    [InlineData("two checkpoints lost", 125, 40, 40, false)]
    [InlineData("lost before the first commit: from scratch", 30, 0, 0, true)]
    [InlineData("lost right at a boundary while the one before it was uploading (CI, seed 19)", 80, 0, 0, true)]
    [InlineData("one step past a boundary, the boundary before it not durable", 81, 0, 0, false)]
    public void Check_Should_HoldTheResumeToTheLastDurableCheckpoint_When_ANodeIsLost(string because, long reached, long durable, long resumed, bool ok)
    {
        var outcome = new NodeLossOutcome(reached, durable, resumed, Interval: 40);

        Assert.True(ok == (NodeLossJudgement.Check(outcome) is null), $"{because}: {NodeLossJudgement.Check(outcome)}");
    }

    [Theory]
    [InlineData("storage behind (CI, seed 19): 20 and 40 queued, neither committed, resumed from scratch", 41, 40, 0, 0, true)]
    [InlineData("storage behind, resumed from the newest one committed", 125, 120, 40, 40, true)]
    [InlineData("the trainer never queued the checkpoint that should be durable", 41, 0, 0, 0, false)]
    [InlineData("it queued only up to one before the checkpoint that should be durable", 125, 80, 40, 40, false)]
    [InlineData("the trainer had committed it, the replacement resumed behind it", 125, 120, 100, 0, false)]
    [InlineData("the lost trainer committed one, the replacement resumed from scratch", 41, 40, 20, 0, false)]
    public void Check_Should_AllowMoreThanOneCheckpointLost_Only_When_TheTrainersLogShowsTheUploadsBehind(string because, long reached, long queued, long uploaded, long resumed, bool ok)
    {
        var outcome = new NodeLossOutcome(reached, Durable: 0, resumed, Interval: 20, queued, uploaded);

        Assert.True(ok == (NodeLossJudgement.Check(outcome) is null), $"{because}: {NodeLossJudgement.Check(outcome)}");
        Assert.Equal(ok, NodeLossJudgement.LostToAStorageBacklog(outcome));
    }

    [Fact]
    public void LostTheUploadInFlight_Should_BeTrue_When_MoreThanTheIntervalWasLostWithinTheBound()
    {
        Assert.True(NodeLossJudgement.LostTheUploadInFlight(new NodeLossOutcome(85, 40, 40, 40)));
        Assert.False(NodeLossJudgement.LostTheUploadInFlight(new NodeLossOutcome(57, 40, 40, 40)));
    }

    [Theory]
    [InlineData("one attempt", new[] { 1 }, true)]
    [InlineData("the replacement took over", new[] { 1, 2, 3 }, true)]
    [InlineData("the zombie committed after its replacement did", new[] { 1, 2, 1 }, false)]
    [InlineData("nothing committed", new int[0], true)]
    public void CheckFencing_Should_RefuseAnOlderAttemptsCommit_When_ANewerOneHasCommitted(string because, int[] attempts, bool ok)
    {
        Assert.True(ok == (NodeLossJudgement.CheckFencing(attempts) is null), because);
    }
}
