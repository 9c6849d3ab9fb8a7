using K8sTraining.Contract;
using K8sTraining.Training.Hosting;
using K8sTraining.Training.Loop;

namespace K8sTraining.Trainer.Tests.Unit.Observers;

[Trait("Category", "Unit")]
public sealed class TrainingEndTests
{
    [Theory]
    [InlineData("a completed run reports its final test accuracy", true, true)]
    [InlineData("a stopped run has no final test accuracy (it resumes later)", false, false)]
    public void EndOf_Should_SayHowTheAttemptEnded_When_TheLoopReturns(string name, bool completed, bool hasAccuracy)
    {
        TrainingOutcome outcome = completed ? new TrainingOutcome.Completed("done") : new TrainingOutcome.Interrupted("stopped");
        var report = new TerminationMessage { GlobalStep = 210, Epoch = 4, StepInEpoch = 2, Checkpoint = "s3://b/p/step-000000000210", TestAccuracy = 0.9301 };

        var end = TrainingWorker.EndOf(outcome, report);

        Assert.Equal((completed, 210L, 4, 2, "s3://b/p/step-000000000210"), (end.Completed, end.GlobalStep, end.Epoch, end.StepInEpoch, end.LastCheckpoint));
        Assert.Equal(hasAccuracy ? 0.9301 : null, end.TestAccuracy);
        Assert.NotEmpty(name);
    }

    [Fact]
    public void OnEnd_Should_ReachEachObserverOnce_When_BothTheLoopAndTheHostReportTheEnd()
    {
        var counter = new EndCounter();
        var composite = new K8sTraining.Training.Progress.CompositeObserver([counter]);

        composite.OnEnd(new TrainingEnd(true, 1, 1, 0, null, null, null, null));
        composite.OnEnd(new TrainingEnd(true, 1, 1, 0, null, null, null, null));

        Assert.Equal(1, counter.Ends);
    }

    private sealed class EndCounter : ITrainingObserver
    {
        public int Ends { get; private set; }

        public void OnStep(TrainingProgress progress)
        {
        }

        public void OnEpochEnd(EpochMetrics metrics, TrainingProgress progress)
        {
        }

        public void OnMessage(string message)
        {
        }

        public void OnEnd(TrainingEnd end) => Ends++;
    }
}
