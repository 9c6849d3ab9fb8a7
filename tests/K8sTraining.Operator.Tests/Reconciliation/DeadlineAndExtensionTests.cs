using System.Text.Json;
using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Pods;
using K8sTraining.Operator.Reconciliation;
using K8sTraining.Operator.Tests.Builders;
using k8s.Models;

namespace K8sTraining.Operator.Tests.Reconciliation;

/// <summary>
/// The trainer's own deadline stop (exit 75, reason DeadlineExceeded), a raised deadline, and a Succeeded job extended by
/// more epochs or stages (issue 16).
/// </summary>
[Trait("Category", "Unit")]
public sealed class DeadlineAndExtensionTests
{
    private static readonly DateTimeOffset Now = TrainingJobBuilder.T0.AddMinutes(5);

    private static readonly CheckpointRecord Checkpoint = new() { GlobalStep = 120, Epoch = 0, StepInEpoch = 120, Location = "s3://k8straining/jobs/mnist/step-000000000120", Uploaded = true };

    private static string DeadlineStop(long step) => JsonSerializer.Serialize(new
    {
        status = TerminationStatuses.Preempted,
        globalStep = step,
        epoch = 0,
        stepInEpoch = step,
        checkpoint = $"s3://k8straining/jobs/mnist/step-{step:D12}",
        checkpointUploaded = true,
        message = "stopped before the deadline",
        reason = TerminationReasons.DeadlineExceeded,
    });

    [Fact]
    public void Decide_Should_PassTheJobsDeadline_When_AnAttemptStarts()
    {
        var job = TrainingJobBuilder.Default().WithDeadline(600).WithStatus(s => s.StartTime = TrainingJobBuilder.T0.UtcDateTime).Build();

        var create = Assert.Single(TrainingJobDecider.Decide(job, [], Now).Actions.OfType<CreatePod>());
        var env = TrainerPodBuilder.Build(job, create.Attempt, create.Inputs).Spec.Containers.Single().Env.ToDictionary(e => e.Name, e => e.Value);

        Assert.Equal("2026-01-01T12:10:00Z", env[TrainerEnvironment.Deadline]);
    }

    public sealed record StopCase(string Name, long? RaisedTo, string Phase, string Outcome, bool NextAttempt)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<StopCase> StopCases() => new()
    {
        new("the deadline stands: the job ends DeadlineExceeded", null, JobPhases.Failed, AttemptOutcomes.DeadlineExceeded, false),
        new("raised while the attempt ran: the next attempt goes on", 3600, JobPhases.Pending, AttemptOutcomes.Reconfigured, true),
    };

    [Theory]
    [MemberData(nameof(StopCases))]
    public void Decide_Should_EndTheJobDeadlineExceededWithItsResumePoint_When_TheTrainerStopsAtItsDeadline(StopCase c)
    {
        var job = TrainingJobBuilder.Default().WithDeadline(360).InPhase(JobPhases.Running).WithStatus(s =>
        {
            s.ActivePod = "mnist-attempt-1";
            s.ResumeFrom = Checkpoint;
            s.CurrentAttempt = new AttemptRecord { Attempt = 1, ObservedGeneration = 1 };
        }).Build();
        var inputs = new AttemptInputs(AttemptDeadline.Of(job.Spec, job.Status!.StartTime));
        var pod = PodBuilder.For(job, 1).Build();
        pod.Spec.Containers[0].Env = [.. TrainerPodBuilder.EnvironmentOf(job, 1, inputs)];
        pod.Status = new V1PodStatus { Phase = "Failed", ContainerStatuses = [new V1ContainerStatus { Name = WellKnown.TrainerContainer, State = new V1ContainerState { Terminated = new V1ContainerStateTerminated { ExitCode = 75, Message = DeadlineStop(150) } } }] };
        if (c.RaisedTo is { } raised)
        {
            job.Spec.ActiveDeadlineSeconds = raised;
            job.Metadata.Generation = 2;
        }

        var d = TrainingJobDecider.Decide(job, [pod], Now);

        Assert.Equal(c.Outcome, d.Status.LastTermination?.Outcome);
        Assert.Equal((0, 0), (d.Status.Preemptions, d.Status.Restarts));
        Assert.Equal(150, d.Status.ResumeFrom?.GlobalStep);
        Assert.Equal(c.NextAttempt, d.Actions.Any(a => a is CreatePod { Attempt: 2 }));
        if (!c.NextAttempt)
        {
            Assert.Equal(JobPhases.Failed, d.Status.Phase);
            Assert.Equal(("True", ConditionReasons.DeadlineExceeded), (Conditions.Find(d.Status.Conditions, ConditionTypes.Failed)?.Status, Conditions.Find(d.Status.Conditions, ConditionTypes.Failed)?.Reason));
            Assert.Contains(d.Events, e => e is { Type: "Warning", Reason: EventReasons.DeadlineExceeded });
        }
    }

    [Fact]
    public void Classify_Should_StayAPreemption_When_Exit75SaysNothingOfADeadline()
    {
        var job = TrainingJobBuilder.Default().Build();

        var outcome = PodClassifier.Classify(PodBuilder.For(job, 1).Checkpointed(150, 0, 150).Build());

        Assert.Equal(AttemptOutcomes.Preempted, outcome.Outcome);
    }

    public sealed record RaiseCase(string Name, long? Seconds, bool Revives)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<RaiseCase> RaiseCases() => new()
    {
        new("raised past now", 3600, true),
        new("removed", null, true),
        new("raised, but still before now", 200, false),
    };

    [Theory]
    [MemberData(nameof(RaiseCases))]
    public void Decide_Should_ResumeADeadlineExceededJob_When_ActiveDeadlineSecondsIsRaised(RaiseCase c)
    {
        var job = TrainingJobBuilder.Default().WithDeadline(120).Build();
        job.Metadata.Generation = 3;
        job.Status = new TrainingJobStatus
        {
            Phase = JobPhases.Failed,
            Attempt = 1,
            StartTime = TrainingJobBuilder.T0.UtcDateTime,
            ResumeFrom = Checkpoint,
            CompletionTime = TrainingJobBuilder.T0.AddMinutes(2).UtcDateTime,
            LastTermination = new TerminationRecord { Attempt = 1, Outcome = AttemptOutcomes.DeadlineExceeded },
            Conditions = [],
        };
        Conditions.Set(job.Status.Conditions, ConditionTypes.Failed, true, ConditionReasons.DeadlineExceeded, "deadline", 2, TrainingJobBuilder.T0.AddMinutes(2));
        job.Spec.ActiveDeadlineSeconds = c.Seconds;

        var d = TrainingJobDecider.Decide(job, [], Now);

        Assert.Equal(c.Revives, d.Actions.Any(a => a is CreatePod { Attempt: 2 }));
        Assert.Equal(c.Revives, d.Events.Any(e => e.Reason == EventReasons.Revived));
        Assert.Equal(c.Revives ? "False" : "True", Conditions.Find(d.Status.Conditions, ConditionTypes.Failed)?.Status);
    }

    public sealed record ExtendCase(string Name, Action<TrainingJob> Edit, bool Revives)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<ExtendCase> ExtendCases() => new()
    {
        new("two more epochs", j => { j.Spec.Training!.Epochs = 4; j.Metadata.Generation = 2; }, true),
        new("a stage added", j => { j.Spec.Stages = [new StageSpec { Name = "first", Epochs = 2 }, new StageSpec { Name = "more", Epochs = 1 }]; j.Metadata.Generation = 2; }, true),
        new("another ttl is no extension", j => { j.Spec.TtlSecondsAfterFinished = 600; j.Metadata.Generation = 2; }, false),
        new("no edit", _ => { }, false),
        new("more epochs without a checkpoint store", j => { j.Spec.Training!.Epochs = 4; j.Spec.Checkpoint = null; j.Metadata.Generation = 2; }, false),
    };

    [Theory]
    [MemberData(nameof(ExtendCases))]
    public void Decide_Should_ReturnASucceededJobToWorkFromItsLastCheckpoint_When_ItsRunIsExtended(ExtendCase c)
    {
        var job = TrainingJobBuilder.Default().Build();
        job.Status = new TrainingJobStatus
        {
            Phase = JobPhases.Succeeded,
            Attempt = 2,
            Preemptions = 1,
            StartTime = TrainingJobBuilder.T0.UtcDateTime,
            CompletionTime = TrainingJobBuilder.T0.AddMinutes(3).UtcDateTime,
            ResumeFrom = Checkpoint,
            LastTermination = new TerminationRecord { Attempt = 2, Outcome = AttemptOutcomes.Succeeded },
            CurrentAttempt = new AttemptRecord { Attempt = 2, ObservedGeneration = 1, Epochs = 2 },
            Conditions = [],
        };
        Conditions.Set(job.Status.Conditions, ConditionTypes.Succeeded, true, ConditionReasons.Completed, "done", 1, TrainingJobBuilder.T0.AddMinutes(3));
        c.Edit(job);

        var d = TrainingJobDecider.Decide(job, [], Now);

        Assert.Equal(c.Revives, d.Actions.Any(a => a is CreatePod { Attempt: 3 }));
        Assert.Equal(c.Revives ? JobPhases.Restarting : JobPhases.Succeeded, d.Status.Phase);
        Assert.Equal(c.Revives ? "False" : "True", Conditions.Find(d.Status.Conditions, ConditionTypes.Succeeded)?.Status);
        Assert.Equal(1, d.Status.Preemptions);
        if (c.Revives)
        {
            Assert.Null(d.Status.CompletionTime);
            Assert.Contains(d.Events, e => e.Reason == EventReasons.Revived && e.Message.Contains("extended from 2 to", StringComparison.Ordinal));
            Assert.Equal(job.Spec.EffectiveEpochs, d.Status.CurrentAttempt?.Epochs);
        }
    }
}
