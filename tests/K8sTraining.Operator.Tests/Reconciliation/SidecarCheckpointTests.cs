using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Reconciliation;
using K8sTraining.Operator.Tests.Builders;

namespace K8sTraining.Operator.Tests.Reconciliation;

/// <summary>
/// With the checkpoint-sync sidecar the attempt's resume point comes from the sidecar's termination message (what it
/// committed), whenever the trainer's own message names no committed checkpoint.
/// </summary>
[Trait("Category", "Unit")]
public sealed class SidecarCheckpointTests
{
    private const string Committed120 = "s3://k8straining/jobs/mnist/step-000000000120";

    private static string SidecarMessage(bool uploaded = true) =>
        new TerminationMessage { Status = null, GlobalStep = 120, Epoch = 1, StepInEpoch = 20, Checkpoint = Committed120, CheckpointUploaded = uploaded, Message = "committed step-000000000120" }.ToJsonLine();

    public sealed record Case(string Name, string? TrainerMessage, string? Sidecar, string? ResumeFrom, int? Epoch, long? StepInEpoch, long? Progress)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<Case> Cases() => new()
    {
        new("a trainer that wrote only local checkpoints: the sidecar's commit is the resume point",
            PodBuilder.TerminationJson(TerminationStatuses.Preempted, 130, 1, 30, "/var/run/k8straining/checkpoints/step-000000000130", uploaded: false), SidecarMessage(), Committed120, 1, 20, 130),
        new("a trainer without a termination message: the sidecar's commit, and its position",
            null, SidecarMessage(), Committed120, 1, 20, 120),
        new("a trainer's message with no checkpoint at all",
            PodBuilder.TerminationJson(TerminationStatuses.Preempted, 125, 1, 25, null), SidecarMessage(), Committed120, 1, 20, 125),
        new("the trainer's own committed checkpoint wins",
            PodBuilder.TerminationJson(TerminationStatuses.Preempted, 140, 1, 40, "s3://k8straining/jobs/mnist/step-000000000140"), SidecarMessage(), "s3://k8straining/jobs/mnist/step-000000000140", 1, 40, 140),
        new("a sidecar that could not commit leaves no resume point",
            PodBuilder.TerminationJson(TerminationStatuses.Preempted, 130, 1, 30, null), SidecarMessage(uploaded: false), null, null, null, 130),
        new("no sidecar: the trainer's message alone",
            PodBuilder.TerminationJson(TerminationStatuses.Preempted, 130, 1, 30, null), null, null, null, null, 130),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Decide_Should_TakeTheResumePointFromTheSidecar_When_TheTrainerNamesNoCommittedCheckpoint(Case c)
    {
        var job = TrainingJobBuilder.Default().WithSpec(s => { s.Training = null; s.Image = "me/trainer:1"; }).InPhase(JobPhases.Running).Build();
        var pod = PodBuilder.For(job, 1).Exited(75, c.TrainerMessage);
        if (c.Sidecar is not null)
        {
            pod.SidecarExited(0, c.Sidecar);
        }

        var status = TrainingJobDecider.Decide(job, [pod.Build()], TrainingJobBuilder.T0.AddMinutes(5)).Status;

        Assert.Equal(AttemptOutcomes.Preempted, status.LastTermination?.Outcome);
        Assert.Equal(c.ResumeFrom, status.ResumeFrom?.Location);
        Assert.Equal(c.Epoch, status.ResumeFrom?.Epoch);
        Assert.Equal(c.StepInEpoch, status.ResumeFrom?.StepInEpoch);
        Assert.Equal(c.Progress, status.Progress?.GlobalStep);
        Assert.Equal(2, status.Attempt);
    }
}
