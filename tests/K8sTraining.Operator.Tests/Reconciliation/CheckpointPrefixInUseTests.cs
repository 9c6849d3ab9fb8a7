using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Reconciliation;
using K8sTraining.Operator.Tests.Builders;

namespace K8sTraining.Operator.Tests.Reconciliation;

/// <summary>A job that finds another job's checkpoints at its prefix does not adopt them silently.</summary>
[Trait("Category", "Unit")]
public sealed class CheckpointPrefixInUseTests
{
    private static readonly DateTimeOffset Now = TrainingJobBuilder.T0.AddMinutes(5);

    private const string Message = "checkpoint prefix s3://k8straining/jobs/mnist belongs to job default/mnist (uid 1234): use a fresh spec.checkpoint.uri, or set spec.checkpoint.adopt: true to take its checkpoints over";

    [Fact]
    public void Decide_Should_FailWithCheckpointPrefixInUseAndOneWarning_When_TheTrainerFindsAnotherJobsCheckpoints()
    {
        var job = TrainingJobBuilder.Default().InPhase(JobPhases.Pending).Build();
        var pod = PodBuilder.For(job, 1).Exited(2, PodBuilder.TerminationJson("invalid", 0, 0, 0, null, message: Message, reason: TerminationReasons.CheckpointPrefixInUse)).Build();

        var d = TrainingJobDecider.Decide(job, [pod], Now);

        Assert.Equal(JobPhases.Failed, d.Status.Phase);
        var inUse = Conditions.Find(d.Status.Conditions, ConditionTypes.CheckpointPrefixInUse)!;
        Assert.Equal(("True", ConditionReasons.CheckpointPrefixInUse, Message), (inUse.Status, inUse.Reason, inUse.Message));
        var failed = Conditions.Find(d.Status.Conditions, ConditionTypes.Failed)!;
        Assert.Equal(("True", ConditionReasons.CheckpointPrefixInUse), (failed.Status, failed.Reason));
        var e = Assert.Single(d.Events);
        Assert.Equal(("Warning", EventReasons.CheckpointPrefixInUse), (e.Type, e.Reason));
        Assert.Contains(Message, e.Message, StringComparison.Ordinal);
        Assert.Equal(0, d.Status.Restarts);
    }

    [Fact]
    public void Decide_Should_RunAgainWithAdopt_When_TheUserSetsAdoptAfterThePrefixWasInUse()
    {
        var job = TrainingJobBuilder.Default().InPhase(JobPhases.Pending).Build();
        var pod = PodBuilder.For(job, 1).Exited(2, PodBuilder.TerminationJson("invalid", 0, 0, 0, null, message: Message, reason: TerminationReasons.CheckpointPrefixInUse)).Build();
        job.Status = TrainingJobDecider.Decide(job, [pod], Now).Status;
        Assert.Empty(TrainingJobDecider.Decide(job, [pod], Now.AddMinutes(1)).Actions.OfType<CreatePod>());

        job.Spec.Checkpoint!.Adopt = true;
        job.Metadata.Generation = 2;
        var d = TrainingJobDecider.Decide(job, [PodBuilder.For(job, 1).Exited(2).WithoutFinalizer().Build()], Now.AddMinutes(2));

        Assert.Contains(d.Actions, a => a is CreatePod { Attempt: 2 });
        Assert.Equal("False", Conditions.Find(d.Status.Conditions, ConditionTypes.CheckpointPrefixInUse)?.Status);
        Assert.Equal("False", Conditions.Find(d.Status.Conditions, ConditionTypes.Failed)?.Status);
        Assert.Equal([EventReasons.Revived, EventReasons.AttemptCreated], d.Events.Select(e => e.Reason).ToArray());
    }
}
