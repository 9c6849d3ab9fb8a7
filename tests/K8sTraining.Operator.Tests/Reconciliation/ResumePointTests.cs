using K8sTraining.Operator.Api;
using K8sTraining.Operator.Reconciliation;
using K8sTraining.Operator.Tests.Builders;

namespace K8sTraining.Operator.Tests.Reconciliation;

/// <summary>The status says where training is and where a replacement resumes, from what the trainer itself reports.</summary>
[Trait("Category", "Unit")]
public sealed class ResumePointTests
{
    private static readonly DateTimeOffset Now = TrainingJobBuilder.T0.AddMinutes(5);

    private static CheckpointRecord At(long step) => new() { GlobalStep = step, Epoch = 0, StepInEpoch = step, Location = $"s3://k8straining/jobs/mnist/step-{step:D12}", Uploaded = true };

    /// <summary>One row: what a failed attempt's termination message says; the progress the status must keep.</summary>
    public sealed record ProgressCase(string Name, int ExitCode, string Termination, long ExpectedStep)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<ProgressCase> ProgressCases() => new()
    {
        new("failed attempt reporting 0 keeps the last position", 1, PodBuilder.TerminationJson("failed", 0, 0, 0, null, message: "boom"), 137),
        new("invalid attempt reporting 0 keeps the last position", 2, PodBuilder.TerminationJson("invalid", 0, 0, 0, null, message: "--lr differs"), 137),
        new("failed attempt reporting its position moves it", 1, PodBuilder.TerminationJson("failed", 150, 0, 150, null, message: "boom"), 150),
        new("preempted before stepping, resumed at 120, reports 120", 75, PodBuilder.TerminationJson("preempted", 120, 0, 120, "s3://k8straining/jobs/mnist/step-000000000120"), 120),
    };

    [Theory]
    [MemberData(nameof(ProgressCases))]
    public void Decide_Should_KeepTheLastKnownPosition_When_AnAttemptEndsWithoutProgress(ProgressCase c)
    {
        var job = TrainingJobBuilder.Default().InPhase(JobPhases.Running).WithStatus(s => s.Progress = new TrainingProgress { GlobalStep = 137, Epoch = 0, StepInEpoch = 137 }).Build();

        var d = TrainingJobDecider.Decide(job, [PodBuilder.For(job, 1).Exited(c.ExitCode, c.Termination).Build()], Now);

        Assert.Equal(c.ExpectedStep, d.Status.Progress?.GlobalStep);
    }

    [Fact]
    public void Decide_Should_NeverResumeFromThePodsOwnDirectory_When_ARemoteStoreIsConfigured()
    {
        // A trainer stopped before its first step reported its emptyDir path as "uploaded".
        var job = TrainingJobBuilder.Default().InPhase(JobPhases.Running).WithStatus(s => { s.ResumeFrom = At(100); s.LastCheckpoint = At(100); }).Build();
        var termination = PodBuilder.TerminationJson("preempted", 100, 0, 100, $"{WellKnown.CheckpointDirectory}/step-000000000100", uploaded: true);

        var d = TrainingJobDecider.Decide(job, [PodBuilder.For(job, 1).Exited(75, termination).Deleting().Build()], Now);

        Assert.Equal("s3://k8straining/jobs/mnist/step-000000000100", d.Status.ResumeFrom?.Location);
        Assert.False(d.Status.LastCheckpoint?.Uploaded);
    }

    [Fact]
    public void Decide_Should_CorrectTheResumePoint_When_TheTerminationMessageSaysWhereTheAttemptResumed()
    {
        // The last report of attempt 1 lagged: it named step 120, but attempt 2 restored step 150, then stopped.
        var job = TrainingJobBuilder.Default().InPhase(JobPhases.Running, attempt: 2).WithStatus(s => { s.ResumeFrom = At(120); s.LastCheckpoint = At(120); }).Build();
        var termination = PodBuilder.TerminationJson("failed", 150, 0, 150, null, message: "boom",
            resumedFrom: new { globalStep = 150, epoch = 0, stepInEpoch = 150, checkpoint = "s3://k8straining/jobs/mnist/step-000000000150" });

        var d = TrainingJobDecider.Decide(job, [PodBuilder.For(job, 2).Exited(1, termination).Build()], Now);

        Assert.Equal(150, d.Status.ResumeFrom?.GlobalStep);
        Assert.Equal("s3://k8straining/jobs/mnist/step-000000000150", d.Status.ResumeFrom?.Location);
        Assert.Equal(150, d.Status.LastCheckpoint?.GlobalStep);
    }

    /// <summary>One row: the resume point recorded, and where the running replacement says it resumed.</summary>
    public sealed record ReportCase(string Name, long Recorded, long ResumedAt, long? ExpectedResume)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<ReportCase> ReportCases() => new()
    {
        new("lagging resume point moves up to the restored checkpoint", 120, 150, 150),
        new("a skipped (corrupt) newest checkpoint moves it down", 150, 140, 140),
        new("agreement changes nothing", 150, 150, 150),
        new("a fresh start says there is no resume point", 150, 0, null),
    };

    [Theory]
    [MemberData(nameof(ReportCases))]
    public void Decide_Should_TakeTheResumePointFromTheTrainer_When_ItReportsWhereItResumed(ReportCase c)
    {
        var job = TrainingJobBuilder.Default().InPhase(JobPhases.Running, attempt: 2).WithStatus(s => { s.ActivePod = "mnist-attempt-2"; s.ResumeFrom = At(c.Recorded); s.LastCheckpoint = At(c.Recorded); }).Build();
        var report = new TrainerReport("mnist-attempt-2", new TrainingPosition(c.ResumedAt + 3, 0, c.ResumedAt + 3), null, new TrainingPosition(c.ResumedAt, 0, c.ResumedAt));

        var d = TrainingJobDecider.Decide(job, [PodBuilder.For(job, 2).Running().Build()], Now, report);

        Assert.Equal(c.ExpectedResume, d.Status.ResumeFrom?.GlobalStep);
        if (c.ExpectedResume is { } step)
        {
            Assert.Equal($"s3://k8straining/jobs/mnist/step-{step:D12}", d.Status.ResumeFrom?.Location);
        }
    }
}
