using K8sTraining.Operator.Api;
using K8sTraining.Operator.Reconciliation;
using K8sTraining.Operator.Tests.Builders;

namespace K8sTraining.Operator.Tests.Reconciliation;

/// <summary>A suspend is the user's choice, never a preemption, however quickly it is undone.</summary>
[Trait("Category", "Unit")]
public sealed class SuspendCyclesTests
{
    private static readonly DateTimeOffset Now = TrainingJobBuilder.T0.AddMinutes(5);

    [Fact]
    public void Decide_Should_CountNoPreemption_When_TheJobIsSuspendedAndResumedQuicklyFiveTimes()
    {
        var job = TrainingJobBuilder.Default().InPhase(JobPhases.Running).WithStatus(s => s.ActivePod = "mnist-attempt-1").Build();
        var events = new List<JobEvent>();
        var t = Now;
        void Step(params k8s.Models.V1Pod[] pods)
        {
            var d = TrainingJobDecider.Decide(job, pods, t);
            job.Status = d.Status;
            events.AddRange(d.Events);
            t = t.AddSeconds(1);
        }

        for (var attempt = 1; attempt <= 5; attempt++)
        {
            // Suspend: the running pod is deleted gracefully.
            job.Spec.Suspend = true;
            job.Metadata.Generation++;
            Step(PodBuilder.For(job, attempt).Running().Build());
            Assert.Equal(JobPhases.Suspended, job.Status!.Phase);

            // Resumed at once, while the trainer still checkpoints.
            job.Spec.Suspend = false;
            job.Metadata.Generation++;
            Step(PodBuilder.For(job, attempt).Running().Deleting().Build());

            // The trainer stops with exit 75 (checkpointed), the pod deleted: the next attempt starts.
            Step(PodBuilder.For(job, attempt).Checkpointed(10 * attempt, 0, 10 * attempt).Deleting().Build());
            Assert.Equal(attempt + 1, job.Status.Attempt);
            Assert.Equal(AttemptOutcomes.Suspended, job.Status.LastTermination?.Outcome);
            Step(PodBuilder.For(job, attempt + 1).Running().Build());
            Assert.Equal(JobPhases.Running, job.Status.Phase);
        }

        Assert.Equal(0, job.Status!.Preemptions);
        Assert.Equal(0, job.Status.Restarts);
        Assert.DoesNotContain(events, e => e.Reason == EventReasons.Preempted);
        Assert.Equal(5, events.Count(e => e.Reason == EventReasons.Suspended));
        Assert.Equal(5, events.Count(e => e.Reason == EventReasons.Resumed));
        Assert.Equal(50, job.Status.ResumeFrom?.GlobalStep);
    }

    [Fact]
    public void Decide_Should_StaySuspendedAndCreateNothing_When_ResumedWhileTheSuspendedPodStillCheckpoints()
    {
        var job = TrainingJobBuilder.Default().InPhase(JobPhases.Suspended).Build();

        var decision = TrainingJobDecider.Decide(job, [PodBuilder.For(job, 1).Running().Deleting().Build()], Now);

        Assert.Equal(JobPhases.Suspended, decision.Status.Phase);
        Assert.Empty(decision.Actions);
        Assert.Equal(0, decision.Status.Preemptions);
    }

    [Fact]
    public void Decide_Should_DeleteAgainAndStaySuspended_When_ResumedBeforeTheDeletionWasSeen()
    {
        var job = TrainingJobBuilder.Default().InPhase(JobPhases.Suspended).Build();

        var decision = TrainingJobDecider.Decide(job, [PodBuilder.For(job, 1).Running().Build()], Now);

        Assert.Equal(JobPhases.Suspended, decision.Status.Phase);
        Assert.Equal([new DeletePod("mnist-attempt-1", "the job was suspended")], decision.Actions);
        Assert.Empty(decision.Events);
    }
}
