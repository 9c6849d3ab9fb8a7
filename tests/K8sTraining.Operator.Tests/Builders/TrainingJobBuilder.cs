using K8sTraining.Operator.Api;
using k8s.Models;

namespace K8sTraining.Operator.Tests.Builders;

/// <summary>Fluent TrainingJob for tests: <c>TrainingJobBuilder.Default().WithCheckpointEvery(50).Build()</c>.</summary>
public sealed class TrainingJobBuilder
{
    public static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly TrainingJob _job;

    private TrainingJobBuilder(string name)
    {
        _job = new TrainingJob
        {
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default", Uid = "uid-" + name, Generation = 1 },
            Spec = new TrainingJobSpec
            {
                Image = TrainingJobSpec.DefaultImage,
                Training = new TrainingSpec { Model = "mlp", Dataset = "synthetic", Samples = 512, Epochs = 2, BatchSize = 32, Seed = 7 },
                Checkpoint = new CheckpointSpec { Uri = "s3://k8straining/jobs/" + name, SecretName = "s3-credentials", EverySteps = 10, Keep = 3 },
                MaxRestarts = 3,
                RestartBackoffSeconds = 10,
                MaxRestartBackoffSeconds = 300,
                TerminationGracePeriodSeconds = 30,
            },
        };
    }

    public static TrainingJobBuilder Default(string name = "mnist") => new(name);

    public TrainingJobBuilder WithCheckpointEvery(int steps) => Do(j => j.Spec.Checkpoint!.EverySteps = steps);

    public TrainingJobBuilder WithoutRemoteCheckpoints() => Do(j => j.Spec.Checkpoint = null);

    public TrainingJobBuilder WithMaxRestarts(int n) => Do(j => j.Spec.MaxRestarts = n);

    public TrainingJobBuilder WithBackoff(int initialSeconds, int maxSeconds = 300) =>
        Do(j => { j.Spec.RestartBackoffSeconds = initialSeconds; j.Spec.MaxRestartBackoffSeconds = maxSeconds; });

    public TrainingJobBuilder Suspended(bool suspend = true) => Do(j => j.Spec.Suspend = suspend);

    public TrainingJobBuilder WithDeadline(long seconds) => Do(j => j.Spec.ActiveDeadlineSeconds = seconds);

    public TrainingJobBuilder WithTtl(int seconds) => Do(j => j.Spec.TtlSecondsAfterFinished = seconds);

    public TrainingJobBuilder WithGracePeriod(long seconds) => Do(j => j.Spec.TerminationGracePeriodSeconds = seconds);

    public TrainingJobBuilder WithTraining(Action<TrainingSpec> change) => Do(j => change(j.Spec.Training ??= new TrainingSpec()));

    public TrainingJobBuilder WithSpec(Action<TrainingJobSpec> change) => Do(j => change(j.Spec));

    public TrainingJobBuilder BeingDeleted() => Do(j => j.Metadata.DeletionTimestamp = T0.UtcDateTime);

    public TrainingJobBuilder WithStatus(Action<TrainingJobStatus> change) => Do(j => change(j.Status ??= new TrainingJobStatus()));

    public TrainingJobBuilder InPhase(string phase, int attempt = 1) => WithStatus(s =>
    {
        s.Phase = phase;
        s.Attempt = attempt;
        s.StartTime = T0.UtcDateTime;
        s.ObservedGeneration = 1;
    });

    /// <summary>Attempt <paramref name="attempt"/> already ended and was recorded with <paramref name="outcome"/>.</summary>
    public TrainingJobBuilder AfterRecordedEnd(int attempt, string outcome, string phase = JobPhases.Restarting) => WithStatus(s =>
    {
        s.Phase = phase;
        s.Attempt = attempt;
        s.StartTime = T0.UtcDateTime;
        s.LastTermination = new TerminationRecord { Attempt = attempt, Outcome = outcome, Pod = $"mnist-attempt-{attempt}" };
    });

    public TrainingJob Build() => _job;

    private TrainingJobBuilder Do(Action<TrainingJob> change)
    {
        change(_job);
        return this;
    }
}
