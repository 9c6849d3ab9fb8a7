using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Reconciliation;
using K8sTraining.Operator.Tests.Builders;

namespace K8sTraining.Operator.Tests.Reconciliation;

/// <summary>Exit 69 (the checkpoint store unreachable at start-up) is infrastructure trouble: retried, never the job's failure.</summary>
[Trait("Category", "Unit")]
public sealed class StorageUnavailableTests
{
    private static readonly DateTimeOffset Now = TrainingJobBuilder.T0.AddMinutes(5);

    private static string Unreachable => PodBuilder.TerminationJson("failed", 0, 0, 0, null, message: "could not reach s3://k8straining/jobs/mnist: Connection refused", reason: TerminationReasons.StorageUnavailable);

    /// <summary>One row: how many storage retries came before, and the backoff this one gets.</summary>
    public sealed record Case(string Name, int RetriesBefore, int Restarts, int MaxRestarts, int ExpectedSeconds)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<Case> Cases() => new()
    {
        new("first time", 0, 0, 3, 10),
        new("third time doubles twice", 2, 0, 3, 40),
        new("long outage is capped", 20, 0, 3, 300),
        new("with maxRestarts spent it still retries", 4, 3, 3, 160),
        new("with maxRestarts 0 it still retries", 0, 0, 0, 10),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Decide_Should_RetryWithBackoffOutsideMaxRestarts_When_TheTrainerCannotReachStorage(Case c)
    {
        var job = TrainingJobBuilder.Default().WithMaxRestarts(c.MaxRestarts).InPhase(JobPhases.Running).WithStatus(s => { s.StorageRetries = c.RetriesBefore; s.Restarts = c.Restarts; }).Build();

        var d = TrainingJobDecider.Decide(job, [PodBuilder.For(job, 1).Exited(69, Unreachable).Build()], Now);

        Assert.Equal(JobPhases.Restarting, d.Status.Phase);
        Assert.Equal(c.Restarts, d.Status.Restarts);
        Assert.Equal(0, d.Status.Preemptions);
        Assert.Equal(c.RetriesBefore + 1, d.Status.StorageRetries);
        Assert.Equal(TimeSpan.FromSeconds(c.ExpectedSeconds), d.RequeueAfter);
        Assert.Equal(AttemptOutcomes.StorageUnavailable, d.Status.LastTermination?.Outcome);
        var storage = Conditions.Find(d.Status.Conditions, ConditionTypes.StorageAvailable)!;
        Assert.Equal(("False", ConditionReasons.StorageUnreachable), (storage.Status, storage.Reason));
        Assert.Contains("Connection refused", storage.Message, StringComparison.Ordinal);
        Assert.Equal([EventReasons.StorageUnavailable], d.Events.Select(e => e.Reason).ToArray());
        Assert.DoesNotContain(d.Actions, a => a is CreatePod);
    }

    [Fact]
    public void Decide_Should_MarkStorageReachable_When_TheNextAttemptGetsPastStartUp()
    {
        var job = TrainingJobBuilder.Default().InPhase(JobPhases.Running).Build();
        job.Status = TrainingJobDecider.Decide(job, [PodBuilder.For(job, 1).Exited(69, Unreachable).Build()], Now).Status;
        job.Status = TrainingJobDecider.Decide(job, [PodBuilder.For(job, 1).Exited(69, Unreachable).WithoutFinalizer().Build()], Now.AddSeconds(11)).Status;
        Assert.Equal(2, job.Status.Attempt);

        var report = new TrainerReport("mnist-attempt-2", new TrainingPosition(3, 0, 3), null, new TrainingPosition(0, 0, 0));
        var d = TrainingJobDecider.Decide(job, [PodBuilder.For(job, 2).Running().Build()], Now.AddSeconds(20), report);

        var storage = Conditions.Find(d.Status.Conditions, ConditionTypes.StorageAvailable)!;
        Assert.Equal(("True", ConditionReasons.StorageReachable), (storage.Status, storage.Reason));
        Assert.Equal(0, d.Status.StorageRetries);
        Assert.Contains(d.Events, e => e.Reason == EventReasons.StorageAvailable);
    }
}
