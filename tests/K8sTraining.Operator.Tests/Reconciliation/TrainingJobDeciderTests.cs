using K8sTraining.Operator.Api;
using K8sTraining.Operator.Reconciliation;
using K8sTraining.Operator.Tests.Builders;
using k8s.Models;

namespace K8sTraining.Operator.Tests.Reconciliation;

[Trait("Category", "Unit")]
public sealed class TrainingJobDeciderTests
{
    private static readonly DateTimeOffset Now = TrainingJobBuilder.T0.AddMinutes(5);

    /// <summary>One row: a situation and what the operator must do about it.</summary>
    public sealed record Case(
        string Name,
        TrainingJob Job,
        V1Pod[] Pods,
        string Phase,
        string[] Actions,
        string[] Events,
        int Preemptions = 0,
        int Restarts = 0,
        int Attempt = -1,
        TimeSpan? Requeue = null)
    {
        public override string ToString() => Name;
    }

    private static TrainingJobBuilder Job() => TrainingJobBuilder.Default();

    private static V1Pod[] Pods(params V1Pod[] pods) => pods;

    public static TheoryData<Case> Cases()
    {
        var fresh = Job().Build();
        var pending = Job().InPhase(JobPhases.Pending).Build();
        var running = Job().InPhase(JobPhases.Running).Build();
        var restartingAfterPreemption = Job().AfterRecordedEnd(1, AttemptOutcomes.Preempted).WithStatus(s => s.Preemptions = 1).Build();
        var succeeded = Job().AfterRecordedEnd(1, AttemptOutcomes.Succeeded, JobPhases.Succeeded).WithStatus(s => s.CompletionTime = TrainingJobBuilder.T0.UtcDateTime).Build();
        var failedOnce = Job().AfterRecordedEnd(1, AttemptOutcomes.Failed).WithStatus(s => { s.Restarts = 1; s.NextAttemptTime = Now.AddSeconds(7).UtcDateTime; }).Build();
        var backoffOver = Job().AfterRecordedEnd(1, AttemptOutcomes.Failed).WithStatus(s => { s.Restarts = 1; s.NextAttemptTime = Now.AddSeconds(-1).UtcDateTime; }).Build();
        var atMaxRestarts = Job().WithMaxRestarts(2).InPhase(JobPhases.Running, attempt: 3).WithStatus(s => s.Restarts = 2).Build();
        var suspendedRunning = Job().Suspended().InPhase(JobPhases.Running).Build();
        var suspendedStopping = Job().Suspended().InPhase(JobPhases.Suspended).Build();
        var resumed = Job().AfterRecordedEnd(1, AttemptOutcomes.Suspended, JobPhases.Suspended).Build();
        var deadline = Job().WithDeadline(60).InPhase(JobPhases.Running).Build();
        var deadlineLater = Job().WithDeadline(3600).InPhase(JobPhases.Running).Build();
        var ttlDue = Job().WithTtl(60).AfterRecordedEnd(1, AttemptOutcomes.Succeeded, JobPhases.Succeeded).WithStatus(s => s.CompletionTime = Now.AddSeconds(-61).UtcDateTime).Build();
        var ttlLater = Job().WithTtl(60).AfterRecordedEnd(1, AttemptOutcomes.Succeeded, JobPhases.Succeeded).WithStatus(s => s.CompletionTime = Now.AddSeconds(-20).UtcDateTime).Build();
        var invalid = Job().WithTraining(t => { t.Dataset = "fashion-mnist"; t.DataPath = null; }).Build();
        var adopted = Job().AfterRecordedEnd(1, AttemptOutcomes.Preempted).Build();
        var vanished = Job().InPhase(JobPhases.Running).WithStatus(s => s.ActivePod = "mnist-attempt-1").Build();
        var deleting = Job().BeingDeleted().InPhase(JobPhases.Running).Build();
        var noRemote = Job().WithoutRemoteCheckpoints().InPhase(JobPhases.Running).Build();

        return new TheoryData<Case>
        {
            new("new job creates attempt 1", fresh, Pods(), JobPhases.Pending, ["Create 1"], [EventReasons.AttemptCreated], Attempt: 1),
            new("pending pod waits", pending, Pods(PodBuilder.For(pending, 1).Build()), JobPhases.Pending, [], []),
            new("running pod makes the job Running", pending, Pods(PodBuilder.For(pending, 1).Running().Build()), JobPhases.Running, [], [EventReasons.AttemptRunning]),
            new("running pod of a Running job changes nothing", running, Pods(PodBuilder.For(running, 1).Running().Build()), JobPhases.Running, [], []),
            new("eviction with exit 75 is a preemption and is replaced at once", running,
                Pods(PodBuilder.For(running, 1).Disrupted("EvictionByEvictionAPI").Checkpointed(120, 1, 20).Deleting().Build()),
                JobPhases.Restarting, ["Release mnist-attempt-1", "Create 2"], [EventReasons.Preempted, EventReasons.AttemptCreated], Preemptions: 1, Attempt: 2),
            new("exit 75 without a disruption condition is a preemption", running,
                Pods(PodBuilder.For(running, 1).Checkpointed(50, 0, 50).Build()),
                JobPhases.Restarting, ["Release mnist-attempt-1", "Create 2"], [EventReasons.Preempted, EventReasons.AttemptCreated], Preemptions: 1),
            new("scheduler preemption killed with 137 is a preemption", running,
                Pods(PodBuilder.For(running, 1).Disrupted("PreemptionByScheduler").Exited(137).Build()),
                JobPhases.Restarting, ["Release mnist-attempt-1", "Create 2"], [EventReasons.Preempted, EventReasons.AttemptCreated], Preemptions: 1),
            new("taint manager deletion is a preemption", running,
                Pods(PodBuilder.For(running, 1).Disrupted("DeletionByTaintManager").Exited(143).Build()),
                JobPhases.Restarting, ["Release mnist-attempt-1", "Create 2"], [EventReasons.Preempted, EventReasons.AttemptCreated], Preemptions: 1),
            new("pod GC deletion is a preemption", running,
                Pods(PodBuilder.For(running, 1).Disrupted("DeletionByPodGC").Exited(137).Build()),
                JobPhases.Restarting, ["Release mnist-attempt-1", "Create 2"], [EventReasons.Preempted, EventReasons.AttemptCreated], Preemptions: 1),
            new("kubelet termination is a preemption", running,
                Pods(PodBuilder.For(running, 1).Disrupted("TerminationByKubelet").Exited(1).Build()),
                JobPhases.Restarting, ["Release mnist-attempt-1", "Create 2"], [EventReasons.Preempted, EventReasons.AttemptCreated], Preemptions: 1),
            new("deletion while running (exit 143) is a preemption", running,
                Pods(PodBuilder.For(running, 1).Exited(143).Deleting().Build()),
                JobPhases.Restarting, ["Release mnist-attempt-1", "Create 2"], [EventReasons.Preempted, EventReasons.AttemptCreated], Preemptions: 1),
            new("pending pod deleted before it started is a preemption", pending,
                Pods(PodBuilder.For(pending, 1).Deleting().Build()),
                JobPhases.Restarting, ["Release mnist-attempt-1", "Create 2"], [EventReasons.Preempted, EventReasons.AttemptCreated], Preemptions: 1),
            new("terminating pod is waited for, never replaced early", running,
                Pods(PodBuilder.For(running, 1).Running().Deleting().Build()), JobPhases.Running, [], []),
            new("exit 0 succeeds", running,
                Pods(PodBuilder.For(running, 1).Exited(0, PodBuilder.TerminationJson("completed", 200, 2, 0, "s3://k8straining/jobs/mnist/step-000000000200", accuracy: 0.93)).Build()),
                JobPhases.Succeeded, ["Release mnist-attempt-1"], [EventReasons.Succeeded]),
            new("exit 2 fails at once without retry", running,
                Pods(PodBuilder.For(running, 1).Exited(2, PodBuilder.TerminationJson("invalid", 0, 0, 0, null, message: "--epochs must be >= 1")).Build()),
                JobPhases.Failed, ["Release mnist-attempt-1"], [EventReasons.Failed]),
            new("exit 1 is retried after the initial backoff", running,
                Pods(PodBuilder.For(running, 1).Exited(1).Build()),
                JobPhases.Restarting, ["Release mnist-attempt-1"], [EventReasons.AttemptFailed], Restarts: 1, Requeue: TimeSpan.FromSeconds(10)),
            new("OOMKilled is a failure, not a preemption", running,
                Pods(PodBuilder.For(running, 1).Exited(137, reason: "OOMKilled").Build()),
                JobPhases.Restarting, ["Release mnist-attempt-1"], [EventReasons.AttemptFailed], Restarts: 1, Requeue: TimeSpan.FromSeconds(10)),
            new("a failure beyond maxRestarts fails the job", atMaxRestarts,
                Pods(PodBuilder.For(atMaxRestarts, 3).Exited(1).Build()),
                JobPhases.Failed, ["Release mnist-attempt-3"], [EventReasons.Failed], Restarts: 2),
            new("backoff not over waits", failedOnce, Pods(PodBuilder.For(failedOnce, 1).Exited(1).WithoutFinalizer().Build()),
                JobPhases.Restarting, [], [], Restarts: 1, Requeue: TimeSpan.FromSeconds(7)),
            new("backoff over creates the next attempt", backoffOver, Pods(PodBuilder.For(backoffOver, 1).Exited(1).WithoutFinalizer().Build()),
                JobPhases.Restarting, ["Create 2"], [EventReasons.AttemptCreated], Restarts: 1, Attempt: 2),
            new("recorded preemption with the pod gone creates the replacement", restartingAfterPreemption, Pods(),
                JobPhases.Restarting, ["Create 2"], [EventReasons.AttemptCreated], Preemptions: 1, Attempt: 2),
            new("succeeded stays succeeded", succeeded, Pods(), JobPhases.Succeeded, [], []),
            new("suspend deletes the running pod gracefully", suspendedRunning, Pods(PodBuilder.For(suspendedRunning, 1).Running().Build()),
                JobPhases.Suspended, ["Delete mnist-attempt-1"], [EventReasons.Suspended]),
            new("pod stopped by suspend is neither preemption nor failure", suspendedStopping,
                Pods(PodBuilder.For(suspendedStopping, 1).Checkpointed(80, 0, 80).Deleting().Build()),
                JobPhases.Suspended, ["Release mnist-attempt-1"], []),
            new("resume starts the next attempt", resumed, Pods(), JobPhases.Restarting, ["Create 2"], [EventReasons.Resumed, EventReasons.AttemptCreated], Attempt: 2),
            new("a resume whose status write was lost keeps the pod it created, never stops it as the suspend's", resumed,
                Pods(PodBuilder.For(resumed, 2).Running().Build()), JobPhases.Running, [], [EventReasons.Resumed, EventReasons.AttemptRunning], Attempt: 2),
            new("deadline exceeded fails and stops the pod", deadline, Pods(PodBuilder.For(deadline, 1).Running().Build()),
                JobPhases.Failed, ["Delete mnist-attempt-1"], [EventReasons.Failed]),
            new("deadline ahead requeues at the deadline", deadlineLater, Pods(PodBuilder.For(deadlineLater, 1).Running().Build()),
                JobPhases.Running, [], [], Requeue: TimeSpan.FromMinutes(55)),
            new("ttl passed deletes the job", ttlDue, Pods(), JobPhases.Succeeded, ["DeleteJob"], [EventReasons.TtlExpired]),
            new("ttl ahead requeues", ttlLater, Pods(), JobPhases.Succeeded, [], [], Requeue: TimeSpan.FromSeconds(40)),
            new("invalid spec creates nothing and says why", invalid, Pods(), JobPhases.Pending, [], [EventReasons.InvalidSpec], Attempt: 0),
            new("pod created before a lost status write is adopted", adopted, Pods(PodBuilder.For(adopted, 2).Running().Build()),
                JobPhases.Running, [], [EventReasons.AttemptRunning], Attempt: 2),
            // Sieve (issue 19): a preemption is counted and its replacement created in one reconcile; the pod create comes
            // first, so a crash before the status write leaves attempt 1's end uncounted beside attempt 2's pod.
            new("an eviction is still counted when its replacement was created before a lost status write", running,
                Pods(PodBuilder.For(running, 1).Disrupted("EvictionByEvictionAPI").Checkpointed(120, 1, 20).Build(), PodBuilder.For(running, 2).Running().Build()),
                JobPhases.Running, ["Release mnist-attempt-1"], [EventReasons.Preempted, EventReasons.AttemptRunning], Preemptions: 1, Attempt: 2),
            new("a preemption whose status write was lost is counted when the replacement is adopted", running,
                Pods(PodBuilder.For(running, 1).Disrupted("EvictionByEvictionAPI").Checkpointed(120, 1, 20).Deleting().Build(), PodBuilder.For(running, 2).Running().Build()),
                JobPhases.Running, ["Release mnist-attempt-1"], [EventReasons.Preempted, EventReasons.AttemptRunning], Preemptions: 1, Attempt: 2),
            new("a failure is still counted when its retry was created before a lost status write", running,
                Pods(PodBuilder.For(running, 1).Exited(1).Build(), PodBuilder.For(running, 2).Running().Build()),
                JobPhases.Running, ["Release mnist-attempt-1"], [EventReasons.AttemptFailed, EventReasons.AttemptRunning], Restarts: 1, Attempt: 2),
            new("pod that vanished without a record counts as preempted", vanished, Pods(),
                JobPhases.Restarting, ["Create 2"], [EventReasons.Preempted, EventReasons.AttemptCreated], Preemptions: 1, Attempt: 2),
            new("job being deleted only releases ended pods", deleting, Pods(PodBuilder.For(deleting, 1).Exited(143).Deleting().Build()),
                JobPhases.Running, ["Release mnist-attempt-1"], []),
            new("without remote checkpoints a replacement starts over", noRemote, Pods(PodBuilder.For(noRemote, 1).Checkpointed(40, 0, 40).Build()),
                JobPhases.Restarting, ["Release mnist-attempt-1", "Create 2"], [EventReasons.Preempted, EventReasons.AttemptCreated], Preemptions: 1),
        };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Decide_Should_ActAsTheTableSays_When_GivenEachSituation(Case c)
    {
        var decision = TrainingJobDecider.Decide(c.Job, c.Pods, Now);

        Assert.Equal(c.Phase, decision.Status.Phase);
        Assert.Equal(c.Actions, decision.Actions.Select(Describe).ToArray());
        Assert.Equal(c.Events, decision.Events.Select(e => e.Reason).ToArray());
        Assert.Equal(c.Preemptions, decision.Status.Preemptions);
        Assert.Equal(c.Restarts, decision.Status.Restarts);
        if (c.Attempt >= 0)
        {
            Assert.Equal(c.Attempt, decision.Status.Attempt);
        }

        Assert.Equal(c.Requeue, decision.RequeueAfter);
    }

    [Fact]
    public void Decide_Should_RecordTheResumePoint_When_APreemptedTrainerUploadedItsCheckpoint()
    {
        var job = Job().InPhase(JobPhases.Running).Build();
        var pod = PodBuilder.For(job, 1).Disrupted("EvictionByEvictionAPI").Checkpointed(120, 1, 20).Deleting().Build();

        var status = TrainingJobDecider.Decide(job, [pod], Now).Status;

        Assert.Equal("s3://k8straining/jobs/mnist/step-000000000120", status.ResumeFrom?.Location);
        Assert.Equal(120, status.ResumeFrom?.GlobalStep);
        Assert.Equal(1, status.ResumeFrom?.Epoch);
        Assert.Equal(20, status.ResumeFrom?.StepInEpoch);
        Assert.Equal(120, status.Progress?.GlobalStep);
        Assert.Equal("EvictionByEvictionAPI", status.LastTermination?.Reason);
        Assert.Equal(75, status.LastTermination?.ExitCode);
        Assert.Equal(AttemptOutcomes.Preempted, status.LastTermination?.Outcome);
        Assert.Equal("mnist-attempt-2", status.ActivePod);
    }

    [Fact]
    public void Decide_Should_ShowTheRunningTrainersPositionAndNewestCheckpoint_When_ItReports()
    {
        var job = Job().InPhase(JobPhases.Running).WithStatus(s => s.ActivePod = "mnist-attempt-1").Build();
        var pod = PodBuilder.For(job, 1).Running().Build();
        var report = new TrainerReport("mnist-attempt-1", new TrainingPosition(137, 2, 9), new TrainingPosition(120, 1, 120));

        var decision = TrainingJobDecider.Decide(job, [pod], Now, report);

        var status = decision.Status;
        Assert.Equal((137L, 2, 9L), (status.Progress!.GlobalStep, status.Progress.Epoch, status.Progress.StepInEpoch));
        Assert.Equal("s3://k8straining/jobs/mnist/step-000000000120", status.LastCheckpoint?.Location);
        Assert.Equal((120L, (int?)1, (long?)120, true), (status.LastCheckpoint!.GlobalStep, status.LastCheckpoint.Epoch, status.LastCheckpoint.StepInEpoch, status.LastCheckpoint.Uploaded));
        Assert.Equal(status.LastCheckpoint.Location, status.ResumeFrom?.Location);
        Assert.Equal(JobPhases.Running, status.Phase);
        Assert.Empty(decision.Actions);
        Assert.Empty(decision.Events);
    }

    [Theory]
    [InlineData("another pod's report", "mnist-attempt-0", 150)]
    [InlineData("an older checkpoint than the recorded one", "mnist-attempt-1", 90)]
    public void Decide_Should_KeepTheRecordedCheckpoint_When_TheReportIsNotNewer(string why, string reportingPod, long checkpointStep)
    {
        var recorded = new CheckpointRecord { GlobalStep = 100, Epoch = 0, StepInEpoch = 100, Location = "s3://k8straining/jobs/mnist/step-000000000100", Uploaded = true };
        var job = Job().InPhase(JobPhases.Running).WithStatus(s => { s.ActivePod = "mnist-attempt-1"; s.LastCheckpoint = recorded; s.ResumeFrom = recorded; }).Build();
        var report = new TrainerReport(reportingPod, new TrainingPosition(160, 1, 32), new TrainingPosition(checkpointStep, 0, checkpointStep));

        var status = TrainingJobDecider.Decide(job, [PodBuilder.For(job, 1).Running().Build()], Now, report).Status;

        Assert.True(status.LastCheckpoint?.GlobalStep == 100, why);
        Assert.Equal(100, status.ResumeFrom?.GlobalStep);
        Assert.Equal(reportingPod == "mnist-attempt-1" ? 160 : null, status.Progress?.GlobalStep);
    }

    [Fact]
    public void Decide_Should_ResumeFromTheReportedCheckpoint_When_ThePodVanishesWithoutATerminationMessage()
    {
        // The node is lost: the pod ends with no termination message. The checkpoint the trainer reported while it
        // ran is where the replacement resumes, and the status says so.
        var job = Job().InPhase(JobPhases.Running).WithStatus(s => s.ActivePod = "mnist-attempt-1").Build();
        var report = new TrainerReport("mnist-attempt-1", new TrainingPosition(137, 2, 9), new TrainingPosition(120, 1, 120));
        job.Status = TrainingJobDecider.Decide(job, [PodBuilder.For(job, 1).Running().Build()], Now, report).Status;

        var decision = TrainingJobDecider.Decide(job, [PodBuilder.For(job, 1).Running().Deleting().Exited(137).Build()], Now.AddSeconds(30));

        Assert.Contains(decision.Actions, a => a is CreatePod { Attempt: 2 });
        Assert.Equal(120, decision.Status.ResumeFrom?.GlobalStep);
        Assert.Contains(decision.Events, e => e.Message.Contains("resumes from s3://k8straining/jobs/mnist/step-000000000120", StringComparison.Ordinal));
    }

    [Fact]
    public void Decide_Should_KeepThePreviousResumePoint_When_TheLastCheckpointWasNotUploaded()
    {
        var job = Job().InPhase(JobPhases.Running).WithStatus(s => s.ResumeFrom = new CheckpointRecord { GlobalStep = 100, Location = "s3://k8straining/jobs/mnist/step-000000000100", Uploaded = true }).Build();
        var pod = PodBuilder.For(job, 1).Checkpointed(130, 1, 30, uploaded: false).Build();

        var status = TrainingJobDecider.Decide(job, [pod], Now).Status;

        Assert.Equal(100, status.ResumeFrom?.GlobalStep);
        Assert.Equal(130, status.LastCheckpoint?.GlobalStep);
        Assert.False(status.LastCheckpoint?.Uploaded);
    }

    [Fact]
    public void Decide_Should_MoveLastTransitionTimeOnlyOnStatusChange_When_ReasonsChange()
    {
        var job = Job().InPhase(JobPhases.Pending).Build();
        var first = TrainingJobDecider.Decide(job, [PodBuilder.For(job, 1).Running().Build()], Now).Status;
        job.Status = first;

        var later = TrainingJobDecider.Decide(job, [PodBuilder.For(job, 1).Running().Deleting().Build()], Now.AddMinutes(1)).Status;

        var before = Conditions.Find(first.Conditions, ConditionTypes.Running)!;
        var after = Conditions.Find(later.Conditions, ConditionTypes.Running)!;
        Assert.Equal(ConditionReasons.PodTerminating, after.Reason);
        Assert.Equal(before.LastTransitionTime, after.LastTransitionTime);
        Assert.Equal(1, after.ObservedGeneration);
    }

    [Fact]
    public void Decide_Should_LeaveStatusUnchanged_When_NothingHappened()
    {
        var job = Job().InPhase(JobPhases.Pending).Build();
        var pods = new[] { PodBuilder.For(job, 1).Running().Build() };
        job.Status = TrainingJobDecider.Decide(job, pods, Now).Status;

        var again = TrainingJobDecider.Decide(job, pods, Now.AddMinutes(3));

        Assert.True(TrainingJobDecider.SameStatus(job.Status, again.Status));
        Assert.Empty(again.Actions);
        Assert.Empty(again.Events);
    }

    [Fact]
    public void Decide_Should_NotRepeatTheInvalidSpecEvent_When_TheSpecIsStillInvalid()
    {
        var job = Job().WithTraining(t => t.Model = "transformer").Build();
        job.Status = TrainingJobDecider.Decide(job, [], Now).Status;

        var again = TrainingJobDecider.Decide(job, [], Now.AddMinutes(1));

        Assert.Empty(again.Events);
        var condition = Conditions.Find(again.Status.Conditions, ConditionTypes.SpecValid)!;
        Assert.Equal("False", condition.Status);
        Assert.Equal(ConditionReasons.InvalidSpec, condition.Reason);
        Assert.Contains("spec.training.model", condition.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, 10)]
    [InlineData(2, 20)]
    [InlineData(3, 40)]
    [InlineData(6, 300)]
    public void BackoffFor_Should_DoubleUpToTheCap_When_FailuresRepeat(int restarts, int expectedSeconds)
    {
        var spec = Job().WithBackoff(10, 300).Build().Spec;

        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), TrainingJobDecider.BackoffFor(spec, restarts));
    }

    private static string Describe(JobAction action) => action switch
    {
        CreatePod c => $"Create {c.Attempt}",
        DeletePod d => $"Delete {d.Name}",
        ReleasePod r => $"Release {r.Name}",
        DeleteJob => "DeleteJob",
        _ => action.ToString(),
    };
}
