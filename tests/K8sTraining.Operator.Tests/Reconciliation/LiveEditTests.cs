using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Pods;
using K8sTraining.Operator.Reconciliation;
using K8sTraining.Operator.Tests.Builders;
using k8s.Models;

namespace K8sTraining.Operator.Tests.Reconciliation;

/// <summary>
/// A live edit of a running job (issue 16): a setting a resume may take restarts the attempt gracefully with the new spec,
/// as condition and Event Reconfiguring, never as a failure or a preemption.
/// </summary>
[Trait("Category", "Unit")]
public sealed class LiveEditTests
{
    private static readonly DateTimeOffset Now = TrainingJobBuilder.T0.AddMinutes(5);

    private static readonly CheckpointRecord Checkpoint = new() { GlobalStep = 120, Epoch = 0, StepInEpoch = 120, Location = "s3://k8straining/jobs/mnist/step-000000000120", Uploaded = true };

    public sealed record EditCase(string Name, Action<TrainingJobSpec> Edit, bool Reconfigures, string? Variable = null)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<EditCase> EditCases() => new()
    {
        new("the learning rate", s => s.Training!.LearningRate = 0.05, true, TrainerEnvironment.LearningRate),
        new("the batch size", s => s.Training!.BatchSize = 64, true, TrainerEnvironment.BatchSize),
        new("more epochs", s => s.Training!.Epochs = 4, true, TrainerEnvironment.Epochs),
        new("the samples", s => s.Training!.Samples = 1024, true, TrainerEnvironment.Samples),
        new("the schedule", s => s.Training!.Schedule = new ScheduleSpec { Type = SchedulerNames.Cosine }, true, TrainerEnvironment.Scheduler),
        new("the momentum", s => s.Training!.Momentum = 0.8, true, TrainerEnvironment.Momentum),
        new("the weight decay", s => s.Training!.WeightDecay = 0.01, true, TrainerEnvironment.WeightDecay),
        new("lr scaled with the batch", s => s.Training!.ScaleLrWithBatch = true, true, TrainerEnvironment.ScaleLrWithBatch),
        new("a stage added at the end", s => s.Stages!.Add(new StageSpec { Name = "polish", Epochs = 1, LearningRate = 0.001 }), true, TrainerEnvironment.Stages),
        new("the schedule scope", s => s.ScheduleScope = ScheduleScopeNames.Global, true, TrainerEnvironment.ScheduleScope),
        new("maxRestarts is no reason to stop", s => s.MaxRestarts = 9, false),
        new("ttlSecondsAfterFinished is no reason to stop", s => s.TtlSecondsAfterFinished = 60, false),
        new("a refused seed edit leaves the attempt alone", s => s.Training!.Seed = 8, false),
        new("a refused model edit leaves the attempt alone", s => s.Training!.Model = ModelNames.Cnn, false),
    };

    [Theory]
    [MemberData(nameof(EditCases))]
    public void Decide_Should_StopTheAttemptGracefullyAsAReconfiguration_When_ALiveEditableSettingChanges(EditCase c)
    {
        var job = RunningWithCheckpoint(stages: c.Name.Contains("stage", StringComparison.Ordinal));
        var pod = PodBuilder.For(job, 1).Running().Build();
        c.Edit(job.Spec);
        job.Metadata.Generation = 2;

        var d = TrainingJobDecider.Decide(job, [pod], Now);

        var reconfiguring = Conditions.Find(d.Status.Conditions, ConditionTypes.Reconfiguring);
        Assert.Equal(c.Reconfigures, d.Actions.Any(a => a is DeletePod { Name: "mnist-attempt-1" }));
        Assert.Equal(c.Reconfigures, reconfiguring?.Status == "True");
        Assert.Equal(c.Reconfigures, d.Events.Any(e => e is { Type: "Normal", Reason: EventReasons.Reconfiguring }));
        Assert.Equal((0, 0, JobPhases.Running), (d.Status.Preemptions, d.Status.Restarts, d.Status.Phase));
        if (c.Variable is not null)
        {
            Assert.Contains(c.Variable, reconfiguring!.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Decide_Should_NotStopTheAttemptAgain_When_ItRunsTheCurrentGeneration()
    {
        var job = RunningWithCheckpoint();
        job.Spec.Training!.LearningRate = 0.05;
        job.Metadata.Generation = 2;
        job.Status!.CurrentAttempt!.ObservedGeneration = 2;

        var d = TrainingJobDecider.Decide(job, [PodBuilder.For(job, 1).Running().Build()], Now);

        Assert.DoesNotContain(d.Actions, a => a is DeletePod);
    }

    public sealed record EndCase(string Name, Func<PodBuilder, PodBuilder> End)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<EndCase> EndCases() => new()
    {
        new("the trainer checkpointed and exited 75", p => p.Checkpointed(150, 0, 150).Deleting()),
        new("the trainer exited 143 without a handler", p => p.Exited(143).Deleting()),
        new("the pod was deleted before its trainer started", p => p.Deleting()),
    };

    [Theory]
    [MemberData(nameof(EndCases))]
    public void Decide_Should_StartTheNextAttemptFromTheNewSpecUncounted_When_TheReconfiguredAttemptEnds(EndCase c)
    {
        var job = RunningWithCheckpoint();
        var built = PodBuilder.For(job, 1);
        var running = PodBuilder.For(job, 1).Running().Build();
        job.Spec.Training!.LearningRate = 0.05;
        job.Metadata.Generation = 2;
        job.Status = TrainingJobDecider.Decide(job, [running], Now).Status;
        Assert.True(Conditions.IsTrue(job.Status.Conditions, ConditionTypes.Reconfiguring));
        // The first decision saw the old pod running; now it ended.
        var ended = c.End(built).Build();

        var d = TrainingJobDecider.Decide(job, [ended], Now.AddSeconds(20));

        var create = Assert.Single(d.Actions.OfType<CreatePod>());
        Assert.Equal(2, create.Attempt);
        Assert.True(create.Inputs?.Reconfigure, "the learning rate differs from the checkpoints': the trainer may rebuild its schedule");
        Assert.Equal((AttemptOutcomes.Reconfigured, (long?)1), (d.Status.LastTermination?.Outcome, d.Status.LastTermination?.ObservedGeneration));
        Assert.Equal((0, 0), (d.Status.Preemptions, d.Status.Restarts));
        Assert.Null(d.Status.NextAttemptTime);
        Assert.Equal(("False", ConditionReasons.Reconfigured), (Conditions.Find(d.Status.Conditions, ConditionTypes.Reconfiguring)?.Status, Conditions.Find(d.Status.Conditions, ConditionTypes.Reconfiguring)?.Reason));
        Assert.Equal((2, (long?)2, (bool?)true), (d.Status.CurrentAttempt?.Attempt, d.Status.CurrentAttempt?.ObservedGeneration, d.Status.CurrentAttempt?.Reconfigured));
        Assert.DoesNotContain(d.Events, e => e.Reason is EventReasons.Preempted or EventReasons.AttemptFailed);
    }

    [Fact]
    public void Decide_Should_PassTheNewSpecToTheNextPod_When_TheLearningRateWasEditedLive()
    {
        var job = RunningWithCheckpoint();
        var old = PodBuilder.For(job, 1);
        var running = PodBuilder.For(job, 1).Running().Build();
        job.Spec.Training!.LearningRate = 0.05;
        job.Metadata.Generation = 2;
        job.Status = TrainingJobDecider.Decide(job, [running], Now).Status;
        var d = TrainingJobDecider.Decide(job, [old.Checkpointed(150, 0, 150).Deleting().Build()], Now.AddSeconds(20));

        var create = Assert.Single(d.Actions.OfType<CreatePod>());
        var env = TrainerPodBuilder.Build(job, create.Attempt, create.Inputs).Spec.Containers.Single().Env.ToDictionary(e => e.Name, e => e.Value);

        Assert.Equal(("0.05", "true"), (env[TrainerEnvironment.LearningRate], env[TrainerEnvironment.Reconfigure]));
    }

    [Fact]
    public void Decide_Should_RecordTheGenerationOfEachAttempt_When_ItStarts()
    {
        var job = TrainingJobBuilder.Default().Build();
        job.Metadata.Generation = 4;

        var d = TrainingJobDecider.Decide(job, [], Now);

        Assert.Equal((1, "mnist-attempt-1", (long?)4, (int?)2), (d.Status.CurrentAttempt?.Attempt, d.Status.CurrentAttempt?.Pod, d.Status.CurrentAttempt?.ObservedGeneration, d.Status.CurrentAttempt?.Epochs));
        Assert.Null(d.Status.CurrentAttempt?.Reconfigured);
        Assert.False(Assert.Single(d.Actions.OfType<CreatePod>()).Inputs?.Reconfigure);
    }

    internal static TrainingJob RunningWithCheckpoint(bool stages = false)
    {
        var job = TrainingJobBuilder.Default().InPhase(JobPhases.Running).WithStatus(s =>
        {
            s.ActivePod = "mnist-attempt-1";
            s.LastCheckpoint = Checkpoint;
            s.ResumeFrom = Checkpoint;
            s.CurrentAttempt = new AttemptRecord { Attempt = 1, Pod = "mnist-attempt-1", ObservedGeneration = 1, Epochs = 2, StartTime = TrainingJobBuilder.T0.UtcDateTime };
        }).Build();
        if (stages)
        {
            job.Spec.Stages = [new StageSpec { Name = "small", Epochs = 1, ImageSize = 16 }, new StageSpec { Name = "full", Epochs = 1 }];
        }

        var t = job.Spec.Training!;
        job.Status!.CheckpointedTraining = new CheckpointedTraining
        {
            Uri = job.Spec.Checkpoint!.Uri,
            Training = new TrainingSpec { Model = t.Model, Dataset = t.Dataset, Samples = t.Samples, Epochs = t.Epochs, BatchSize = t.BatchSize, Seed = t.Seed },
            StageNames = job.Spec.Stages?.Select(s => s.Name).ToList(),
        };
        job.Status.Conditions = [new V1Condition { Type = ConditionTypes.SpecValid, Status = "True", Reason = ConditionReasons.Valid, Message = "the spec is valid", LastTransitionTime = TrainingJobBuilder.T0.UtcDateTime }];
        return job;
    }
}
