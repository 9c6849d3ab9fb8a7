using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Reconciliation;
using K8sTraining.Operator.Tests.Builders;
using k8s.Models;

namespace K8sTraining.Operator.Tests.Reconciliation;

/// <summary>
/// The gang rules of a multi-worker job (issue 18) as one table: all workers created together, one disrupted worker
/// ends the whole attempt (the others deleted gracefully, counted once), 75 and 77 are never failures, a worker's own
/// failure fails the attempt once, worker 0's message is the report, the start timeout tears down and backs off, and the
/// next attempt waits until every earlier pod is gone.
/// </summary>
[Trait("Category", "Unit")]
public sealed class GangDecisionTests
{
    private static readonly DateTimeOffset Now = TrainingJobBuilder.T0.AddMinutes(5);

    /// <summary>One row: a gang situation and what the operator must do about it.</summary>
    public sealed record Case(
        string Name,
        TrainingJob Job,
        V1Pod[] Pods,
        string Phase,
        string[] Actions,
        string[] Events,
        int Preemptions = 0,
        int Restarts = 0,
        string? Outcome = null)
    {
        public override string ToString() => Name;
    }

    private static TrainingJobBuilder Job(int workers = 2) => TrainingJobBuilder.Default().WithSpec(s => s.Workers = workers);

    /// <summary>A gang job whose attempt <paramref name="attempt"/> runs (created at T0).</summary>
    private static TrainingJobBuilder Live(string phase = JobPhases.Running, int attempt = 1, int workers = 2, GangTeardownRecord? teardown = null) =>
        Job(workers).InPhase(phase, attempt).WithStatus(s =>
        {
            s.ActivePod = $"mnist-attempt-{attempt}-worker-0";
            s.CurrentAttempt = new AttemptRecord { Attempt = attempt, Pod = s.ActivePod, ObservedGeneration = 1, StartTime = Now.AddSeconds(-10).UtcDateTime, Workers = workers, Teardown = teardown };
        });

    private static PodBuilder W(TrainingJob job, int rank, int attempt = 1, int workers = 2) => PodBuilder.ForWorker(job, attempt, rank, workers);

    private static V1Pod[] Pods(params V1Pod[] pods) => pods;

    private static readonly GangTeardownRecord Evicted = new() { Worker = 1, Outcome = AttemptOutcomes.Preempted, Reason = "EvictionByEvictionAPI", Message = "worker 1 (pod mnist-attempt-1-worker-1 disrupted (EvictionByEvictionAPI)); the whole gang of attempt 1 is replaced" };

    private static readonly GangTeardownRecord Crashed = new() { Worker = 1, Outcome = AttemptOutcomes.Preempted, Reason = "Error", Message = "worker 1 failed" };

    public static TheoryData<Case> Cases()
    {
        var fresh = Job().Build();
        var pending = Live(JobPhases.Pending).Build();
        var running = Live().Build();
        var evicted = Live(JobPhases.Restarting, teardown: Evicted).Build();
        var crashed = Live(JobPhases.Restarting, teardown: Crashed).Build();
        var afterPreemption = Job().AfterRecordedEnd(1, AttemptOutcomes.Preempted).WithStatus(s => s.Preemptions = 1).Build();
        var shrunk = Job(1).AfterRecordedEnd(1, AttemptOutcomes.Preempted).WithStatus(s => s.Preemptions = 1).Build();
        var grown = Job(3).AfterRecordedEnd(1, AttemptOutcomes.Preempted).WithStatus(s => s.Preemptions = 1).Build();
        var startedLongAgo = Live(JobPhases.Pending).WithSpec(s => s.Gang = new GangSpec { StartTimeoutSeconds = 5 }).Build();
        var timedOut = Live(JobPhases.Restarting, teardown: new GangTeardownRecord { Outcome = AttemptOutcomes.GangStartTimeout, Reason = ConditionReasons.GangStartTimeout, Message = "1 of 2 workers were Running" })
            .WithSpec(s => s.Gang = new GangSpec { StartTimeoutSeconds = 60 }).Build();
        var suspended = Live().Suspended().Build();

        return new TheoryData<Case>
        {
            new("a new job creates its Service and every worker of attempt 1 together", fresh, Pods(), JobPhases.Pending,
                ["Service", "Create 1 x2"], [EventReasons.AttemptCreated]),
            new("workers pending: the job is Pending", pending, Pods(W(pending, 0).Running().Build(), W(pending, 1).Build()), JobPhases.Pending, [], []),
            new("every worker running: the job is Running", pending, Pods(W(pending, 0).Running().Build(), W(pending, 1).Running().Build()), JobPhases.Running,
                [], [EventReasons.AttemptRunning]),
            new("one worker evicted: the other is deleted gracefully, nothing counted yet", running,
                Pods(W(running, 0).Running().Build(), W(running, 1).Disrupted("EvictionByEvictionAPI").Running().Deleting().Build()), JobPhases.Restarting,
                ["Delete mnist-attempt-1-worker-0"], [EventReasons.GangTeardown]),
            new("one worker deleted by someone: the gang is torn down", running,
                Pods(W(running, 0).Running().Build(), W(running, 1).Running().Deleting().Build()), JobPhases.Restarting,
                ["Delete mnist-attempt-1-worker-0"], [EventReasons.GangTeardown]),
            new("one worker failed on its own: the gang is torn down", running,
                Pods(W(running, 0).Running().Build(), W(running, 1).Exited(1).Build()), JobPhases.Restarting,
                ["Delete mnist-attempt-1-worker-0"], [EventReasons.GangTeardown]),
            new("one worker's pod vanished: the gang is torn down", running,
                Pods(W(running, 0).Running().Build()), JobPhases.Restarting,
                ["Delete mnist-attempt-1-worker-0"], [EventReasons.GangTeardown]),
            new("one worker completed: the others are finishing too, nothing is torn down", running,
                Pods(W(running, 0).Running().Build(), W(running, 1).Exited(0).Build()), JobPhases.Running, [], []),
            new("torn down and still stopping: wait, the delete repeated for a live worker", evicted,
                Pods(W(evicted, 0).Running().Build(), W(evicted, 1).Disrupted("EvictionByEvictionAPI").Checkpointed(40, 0, 40).Deleting().Build()), JobPhases.Restarting,
                ["Delete mnist-attempt-1-worker-0"], []),
            new("every worker ended after an eviction: one preemption, old pods deleted before the next attempt", evicted,
                Pods(W(evicted, 0).Checkpointed(40, 0, 40).Deleting().Build(), W(evicted, 1).Disrupted("EvictionByEvictionAPI").Exited(75).Deleting().Build()),
                JobPhases.Restarting, ["Release mnist-attempt-1-worker-0", "Release mnist-attempt-1-worker-1"], [EventReasons.Preempted], Preemptions: 1, Outcome: AttemptOutcomes.Preempted),
            new("the peer of an evicted worker exiting 77 is not a failure", evicted,
                Pods(W(evicted, 0).Exited(77).Build(), W(evicted, 1).Disrupted("EvictionByEvictionAPI").Exited(75).Deleting().Build()),
                JobPhases.Restarting, ["Release mnist-attempt-1-worker-0", "Release mnist-attempt-1-worker-1", "Delete mnist-attempt-1-worker-0"], [EventReasons.Preempted], Preemptions: 1, Outcome: AttemptOutcomes.Preempted),
            new("all workers exit 75 at one coordinated stop: one preemption", running,
                Pods(W(running, 0).Checkpointed(40, 0, 40).Build(), W(running, 1).Exited(75).Build()),
                JobPhases.Restarting, ["Release mnist-attempt-1-worker-0", "Release mnist-attempt-1-worker-1", "Delete mnist-attempt-1-worker-0", "Delete mnist-attempt-1-worker-1"], [EventReasons.Preempted], Preemptions: 1, Outcome: AttemptOutcomes.Preempted),
            new("a worker that failed fails the attempt once, however its peers ended", crashed,
                Pods(W(crashed, 0).Exited(77).Build(), W(crashed, 1).Exited(1).Build()),
                JobPhases.Restarting, ["Release mnist-attempt-1-worker-0", "Release mnist-attempt-1-worker-1", "Delete mnist-attempt-1-worker-0", "Delete mnist-attempt-1-worker-1"], [EventReasons.AttemptFailed], Restarts: 1, Outcome: AttemptOutcomes.Failed),
            new("every worker completed: Succeeded, the pods are kept", running,
                Pods(W(running, 0).Exited(0).Build(), W(running, 1).Exited(0).Build()),
                JobPhases.Succeeded, ["Release mnist-attempt-1-worker-0", "Release mnist-attempt-1-worker-1"], [EventReasons.Succeeded], Outcome: AttemptOutcomes.Succeeded),
            new("an old pod still present: no next attempt until it is gone", afterPreemption,
                Pods(W(afterPreemption, 0).Checkpointed(40, 0, 40).Deleting().WithoutFinalizer().Build()), JobPhases.Restarting, [], [], Preemptions: 1),
            new("every old pod gone: the whole next attempt is created", afterPreemption, Pods(), JobPhases.Restarting,
                ["Service", "Create 2 x2"], [EventReasons.AttemptCreated], Preemptions: 1),
            new("workers edited down to 1: the next attempt is a single pod", shrunk, Pods(), JobPhases.Restarting,
                ["Create 2"], [EventReasons.AttemptCreated], Preemptions: 1),
            new("workers edited up to 3: the next attempt has 3 workers", grown, Pods(), JobPhases.Restarting,
                ["Service", "Create 2 x3"], [EventReasons.AttemptCreated], Preemptions: 1),
            new("not all workers running past the start timeout: torn down, nothing counted yet", startedLongAgo,
                Pods(W(startedLongAgo, 0).Running().Build(), W(startedLongAgo, 1).Unschedulable("0/1 nodes are available").Build()), JobPhases.Restarting,
                ["Delete mnist-attempt-1-worker-0", "Delete mnist-attempt-1-worker-1"], [EventReasons.GangStartTimeout]),
            new("the timed-out gang has stopped: retried with backoff, not a failure", timedOut,
                Pods(W(timedOut, 0).Exited(143).Deleting().Build(), W(timedOut, 1).Deleting().Build()), JobPhases.Restarting,
                ["Release mnist-attempt-1-worker-0", "Release mnist-attempt-1-worker-1"], [EventReasons.BackingOff], Outcome: AttemptOutcomes.GangStartTimeout),
            new("suspending deletes every worker", suspended,
                Pods(W(suspended, 0).Running().Build(), W(suspended, 1).Running().Build()), JobPhases.Suspended,
                ["Delete mnist-attempt-1-worker-0", "Delete mnist-attempt-1-worker-1"], [EventReasons.Suspended]),
        };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Decide_Should_ActAsTheGangTableSays_When_GivenEachSituation(Case c)
    {
        var decision = TrainingJobDecider.Decide(c.Job, c.Pods, Now);

        Assert.Equal(c.Phase, decision.Status.Phase);
        Assert.Equal(c.Actions, decision.Actions.Select(Describe).ToArray());
        Assert.Equal(c.Events, decision.Events.Select(e => e.Reason).ToArray());
        Assert.Equal(c.Preemptions, decision.Status.Preemptions);
        Assert.Equal(c.Restarts, decision.Status.Restarts);
        if (c.Outcome is not null)
        {
            Assert.Equal(c.Outcome, decision.Status.LastTermination?.Outcome);
        }
    }

    [Fact]
    public void Decide_Should_TakeTheResumePointFromWorkerZero_When_TheGangEnds()
    {
        var job = Live(JobPhases.Restarting, teardown: Evicted).Build();
        var pods = Pods(W(job, 0).Checkpointed(40, 0, 40).Deleting().Build(), W(job, 1).Disrupted("EvictionByEvictionAPI").Exited(75).Deleting().Build());

        var decision = TrainingJobDecider.Decide(job, pods, Now);

        Assert.Equal(40, decision.Status.ResumeFrom?.GlobalStep);
        Assert.Equal("EvictionByEvictionAPI", decision.Status.LastTermination?.Reason);
        Assert.Equal("mnist-attempt-1-worker-0", decision.Status.LastTermination?.Pod);
        Assert.Contains("worker 1", decision.Status.LastTermination?.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_Should_RecordWhyTheGangIsTornDownOnce_When_AWorkerIsEvicted()
    {
        var job = Live().Build();
        var pods = Pods(W(job, 0).Running().Build(), W(job, 1).Disrupted("EvictionByEvictionAPI").Running().Deleting().Build());

        var first = TrainingJobDecider.Decide(job, pods, Now);
        job.Status = first.Status;
        var again = TrainingJobDecider.Decide(job, pods, Now.AddSeconds(1));

        Assert.Equal((1, "EvictionByEvictionAPI"), (first.Status.CurrentAttempt?.Teardown?.Worker, first.Status.CurrentAttempt?.Teardown?.Reason));
        Assert.Empty(again.Events);
        Assert.Equal(0, again.Status.Preemptions);
    }

    [Fact]
    public void Decide_Should_BackOffLongerEachTime_When_TheGangStartTimesOutAgain()
    {
        var job = Live(JobPhases.Restarting, teardown: new GangTeardownRecord { Outcome = AttemptOutcomes.GangStartTimeout, Reason = ConditionReasons.GangStartTimeout, Message = "late" })
            .WithBackoff(10).WithStatus(s => s.GangStartTimeouts = 2).Build();
        var pods = Pods(W(job, 0).Deleting().Build(), W(job, 1).Deleting().Build());

        var decision = TrainingJobDecider.Decide(job, pods, Now);

        Assert.Equal(3, decision.Status.GangStartTimeouts);
        Assert.Equal(Now.AddSeconds(40).UtcDateTime, decision.Status.NextAttemptTime);
        Assert.Equal(0, decision.Status.Restarts);
    }

    [Fact]
    public void Decide_Should_RequeueAtTheStartTimeout_When_TheGangIsStillStarting()
    {
        var job = Live(JobPhases.Pending).WithSpec(s => s.Gang = new GangSpec { StartTimeoutSeconds = 600 }).Build();
        var pods = Pods(W(job, 0).Running().Build(), W(job, 1).Build());

        var decision = TrainingJobDecider.Decide(job, pods, Now);

        Assert.Equal(TimeSpan.FromSeconds(590), decision.RequeueAfter);
        Assert.Empty(decision.Actions);
    }

    [Theory]
    [InlineData("nothing started", 0, "0/2")]
    [InlineData("one running", 1, "1/2")]
    [InlineData("both running", 2, "2/2")]
    public void Decide_Should_CountReadyWorkers_When_TheGangStarts(string because, int running, string expected)
    {
        var job = Live(JobPhases.Pending).Build();
        var pods = Pods(running >= 1 ? W(job, 0).Running().Build() : W(job, 0).Build(), running >= 2 ? W(job, 1).Running().Build() : W(job, 1).Build());

        var decision = TrainingJobDecider.Decide(job, pods, Now);

        Assert.True(expected == decision.Status.WorkersReady, because);
        Assert.Equal((running, 2), (decision.Status.Workers!.Ready, decision.Status.Workers.Total));
    }

    [Fact]
    public void Decide_Should_ShowOneOfOne_When_ASinglePodRuns()
    {
        var job = TrainingJobBuilder.Default().InPhase(JobPhases.Running).Build();

        var decision = TrainingJobDecider.Decide(job, Pods(PodBuilder.For(job, 1).Running().Build()), Now);

        Assert.Equal("1/1", decision.Status.WorkersReady);
    }

    [Fact]
    public void Classify_Should_CallExit77APreemption_When_AWorkerLostItsPeer()
    {
        var job = Job().Build();

        var outcome = GangAttempt.Classify(W(job, 1).Exited(TrainerExitCodes.PeerLost).Build());

        Assert.Equal((AttemptOutcomes.Preempted, TerminationReasons.PeerLost), (outcome.Outcome, outcome.Reason));
    }

    private static string Describe(JobAction action) => action switch
    {
        CreatePod { Workers: > 1 } c => $"Create {c.Attempt} x{c.Workers}",
        CreatePod c => $"Create {c.Attempt}",
        EnsureWorkerService => "Service",
        DeletePod d => $"Delete {d.Name}",
        ReleasePod r => $"Release {r.Name}",
        DeleteJob => "DeleteJob",
        _ => action.ToString(),
    };
}
