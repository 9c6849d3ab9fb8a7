using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Reconciliation;
using K8sTraining.Operator.Tests.Builders;

namespace K8sTraining.Operator.Tests.Reconciliation;

/// <summary>status.best follows the trainer's best: from its gauges while it runs, from its termination message at the end.</summary>
[Trait("Category", "Unit")]
public sealed class BestStatusTests
{
    private const string Uri = "s3://k8straining/jobs/mnist";

    private static readonly DateTimeOffset Now = TrainingJobBuilder.T0.AddMinutes(5);

    private static BestRecord Recorded(long step, double value) => new()
    {
        GlobalStep = step, Epoch = 0, Metric = BestMetricNames.ValidationAccuracy, Value = value, Weights = BestWeightsNames.Raw, Location = CheckpointLayout.Location(Uri, step),
    };

    /// <summary>One row: the status's best, what the running trainer reports, the best the status must then show.</summary>
    public sealed record RunningCase(string Name, long? RecordedStep, long? ReportedStep, string? ReportedMetric, long? ExpectedStep, string? ExpectedLocation)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<RunningCase> RunningCases() => new()
    {
        new("no best anywhere", null, null, null, null, null),
        new("the first best", null, 40, BestMetricNames.ValidationAccuracy, 40, $"{Uri}/step-000000000040"),
        new("a better one replaces it", 40, 80, BestMetricNames.ValidationAccuracy, 80, $"{Uri}/step-000000000080"),
        new("a trainer that says nothing keeps it", 40, null, null, 40, $"{Uri}/step-000000000040"),
        new("the trainer's word wins, even an older step", 80, 40, BestMetricNames.ValidationLoss, 40, $"{Uri}/step-000000000040"),
    };

    [Theory]
    [MemberData(nameof(RunningCases))]
    public void FromRunning_Should_LocateTheReportedBestUnderTheCheckpointRoot_When_TheTrainerReportsOne(RunningCase c)
    {
        var current = c.RecordedStep is { } r ? Recorded(r, 0.5) : null;
        var reported = c.ReportedStep is { } s ? new BestCheckpoint(s, 1, c.ReportedMetric!, 0.75, BestWeightsNames.Ema) : null;

        var best = BestStatus.FromRunning(current, reported, Uri);

        Assert.Equal(c.ExpectedStep, best?.GlobalStep);
        Assert.Equal(c.ExpectedLocation, best?.Location);
        if (reported is not null)
        {
            Assert.Equal((reported.Epoch, reported.Metric, reported.Value, reported.Weights), (best!.Epoch, best.Metric!, best.Value, best.Weights!));
        }
    }

    [Theory]
    [InlineData("no best in the message keeps the status's", false, 40L)]
    [InlineData("the message's best replaces it", true, 120L)]
    public void FromTermination_Should_TakeTheMessagesBestAndLocation_When_ItHasOne(string name, bool reported, long expectedStep)
    {
        var report = reported ? new BestCheckpointReport(120, 3, BestMetricNames.ValidationLoss, 0.31, BestWeightsNames.Raw, "/checkpoints/step-000000000120") : null;

        var best = BestStatus.FromTermination(Recorded(40, 0.5), report);

        Assert.True(expectedStep == best?.GlobalStep, name);
        Assert.Equal(reported ? "/checkpoints/step-000000000120" : $"{Uri}/step-000000000040", best?.Location);
    }

    [Fact]
    public void Decide_Should_ShowTheRunningTrainersBest_When_ItsReportCarriesOne()
    {
        var job = TrainingJobBuilder.Default().InPhase(JobPhases.Running).WithStatus(s => s.ActivePod = "mnist-attempt-1").Build();
        var report = new TrainerReport("mnist-attempt-1", new TrainingPosition(130, 2, 10), new TrainingPosition(120, 2, 0), null, new BestCheckpoint(120, 1, BestMetricNames.ValidationAccuracy, 0.91, BestWeightsNames.Raw));

        var d = TrainingJobDecider.Decide(job, [PodBuilder.For(job, 1).Running().Build()], Now, report);

        Assert.Equal((120L, 0.91, $"{Uri}/step-000000000120"), (d.Status.Best!.GlobalStep, d.Status.Best.Value, d.Status.Best.Location!));
    }

    [Fact]
    public void Decide_Should_ShowTheBestOfTheTerminationMessage_When_TheAttemptCompletes()
    {
        var job = TrainingJobBuilder.Default().InPhase(JobPhases.Running).WithStatus(s => { s.ActivePod = "mnist-attempt-1"; s.Best = Recorded(40, 0.8); }).Build();
        var termination = new TerminationMessage
        {
            Status = TerminationStatuses.Completed, GlobalStep = 200, Epoch = 2, StepInEpoch = 0, Checkpoint = $"{Uri}/step-000000000200", CheckpointUploaded = true,
            Best = new BestCheckpointReport(160, 1, BestMetricNames.ValidationAccuracy, 0.93, BestWeightsNames.Ema, $"{Uri}/step-000000000160"),
        }.ToJsonLine();

        var d = TrainingJobDecider.Decide(job, [PodBuilder.For(job, 1).Exited(0, termination).Build()], Now);

        Assert.Equal((160L, 1, 0.93, BestWeightsNames.Ema, $"{Uri}/step-000000000160"), (d.Status.Best!.GlobalStep, d.Status.Best.Epoch, d.Status.Best.Value, d.Status.Best.Weights!, d.Status.Best.Location!));
    }
}
