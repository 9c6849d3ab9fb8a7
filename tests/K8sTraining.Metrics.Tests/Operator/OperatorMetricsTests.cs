using System.Diagnostics.Metrics;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Metrics;
using k8s.Models;

namespace K8sTraining.Metrics.Tests.Operator;

/// <summary>What the reconciler's three metric calls record, read back through a MeterListener.</summary>
[Trait("Category", "Unit")]
public sealed class OperatorMetricsTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 23, 2, 0, 0, TimeSpan.Zero);
    private readonly MeterListener _listener = new();
    private readonly List<(string Instrument, double Value, Dictionary<string, string?> Tags)> _measurements = [];

    public OperatorMetricsTests()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == OperatorMetrics.MeterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _listener.Start();
    }

    public void Dispose() => _listener.Dispose();

    [Fact]
    public void RecordStatusWritten_Should_CountAPreemptionOnce_When_TheEndedAttemptIsWrittenAgain()
    {
        using var metrics = new OperatorMetrics();
        var job = Job(attempt: 1, phase: JobPhases.Running);
        var written = new TrainingJobStatus { Phase = JobPhases.Restarting, Attempt = 2, Preemptions = 1, LastTermination = new TerminationRecord { Attempt = 1, Outcome = AttemptOutcomes.Preempted, Reason = "ExitCode75" } };

        metrics.RecordStatusWritten(job, written);
        metrics.RecordStatusWritten(Job(attempt: 2, phase: JobPhases.Restarting, lastTermination: written.LastTermination), new TrainingJobStatus { Phase = JobPhases.Running, Attempt = 2, LastTermination = written.LastTermination });

        var preemption = Assert.Single(_measurements, m => m.Instrument == "k8straining_operator_preemptions" && m.Value > 0);
        Assert.Equal("exit-75", preemption.Tags["reason"]);
        Assert.Equal("team-a", preemption.Tags["job_namespace"]);
        Assert.Equal("resnet", preemption.Tags["job_name"]);
        Assert.DoesNotContain(_measurements, m => m.Instrument == "k8straining_operator_restarts" && m.Value > 0);
    }

    [Fact]
    public void RecordStatusWritten_Should_CountARestart_When_AFailedAttemptIsRetried()
    {
        using var metrics = new OperatorMetrics();

        metrics.RecordStatusWritten(Job(attempt: 1, phase: JobPhases.Running), new TrainingJobStatus { Phase = JobPhases.Restarting, Attempt = 1, Restarts = 1, LastTermination = new TerminationRecord { Attempt = 1, Outcome = AttemptOutcomes.Failed, Reason = "OOMKilled" } });

        Assert.Equal(1, _measurements.Where(m => m.Instrument == "k8straining_operator_restarts").Sum(m => m.Value));
        Assert.DoesNotContain(_measurements, m => m.Instrument == "k8straining_operator_preemptions" && m.Value > 0);
    }

    [Fact]
    public void ObservePods_Should_StartEveryPreemptionReasonAtZero_When_AJobIsFirstSeen()
    {
        using var metrics = new OperatorMetrics();

        metrics.ObservePods(Job(attempt: 1, phase: JobPhases.Running), [Pod(1, running: true)], T0);
        metrics.ObservePods(Job(attempt: 1, phase: JobPhases.Running), [Pod(1, running: true)], T0.AddSeconds(1));

        var zeros = _measurements.Where(m => m.Instrument == "k8straining_operator_preemptions").ToList();
        Assert.Equal(OperatorMetrics.PreemptionReasonLabels.Order(), zeros.Select(m => m.Tags["reason"]!).Order());
        Assert.All(zeros, m => Assert.Equal(0, m.Value));
        Assert.Single(_measurements, m => m.Instrument == "k8straining_operator_restarts");
    }

    [Fact]
    public void ObservePods_Should_RecordRecoveryFromFirstSignToReplacementRunning_When_APodIsEvicted()
    {
        using var metrics = new OperatorMetrics();
        var job = Job(attempt: 1, phase: JobPhases.Running);

        metrics.ObservePods(job, [Pod(1, running: true)], T0);
        metrics.ObservePods(job, [Pod(1, running: true, disrupted: true)], T0.AddSeconds(2));
        metrics.ObservePods(job, [Pod(1, running: true, disrupted: true, deleting: true)], T0.AddSeconds(3));
        var replacing = Job(attempt: 2, phase: JobPhases.Restarting);
        metrics.ObservePods(replacing, [Pod(2, running: false)], T0.AddSeconds(9));
        metrics.ObservePods(replacing, [Pod(2, running: true)], T0.AddSeconds(14.5));
        metrics.ObservePods(Job(attempt: 2, phase: JobPhases.Running), [Pod(2, running: true)], T0.AddSeconds(20));

        var recovery = Assert.Single(_measurements, m => m.Instrument == "k8straining_operator_recovery");
        Assert.Equal(12.5, recovery.Value, 3);
        Assert.Equal("team-a", recovery.Tags["job_namespace"]);
    }

    [Fact]
    public void ObservePods_Should_RecordRecoveryFromTheFirstSignOfNodeLoss_When_ThePodsNodeWasLost()
    {
        using var metrics = new OperatorMetrics();
        var job = Job(attempt: 1, phase: JobPhases.Running);
        var lost = new NodeLossRecord { Node = "local-node-2", Attempt = 1, Pod = "resnet-attempt-1", Since = T0.AddSeconds(-40).UtcDateTime, Reason = "NodeUnreachable", Policy = NodeLossPolicies.Wait };

        metrics.ObservePods(job, [Pod(1, running: true)], T0);
        // The operator sees the Node's loss 40 s after its first sign (the Ready transition), then the pod evicted.
        metrics.ObservePods(job, [Pod(1, running: true)], T0, lost);
        metrics.ObservePods(job, [Pod(1, running: true, disrupted: true, deleting: true)], T0.AddSeconds(30), lost);
        metrics.ObservePods(Job(attempt: 2, phase: JobPhases.Restarting), [Pod(1, running: true, deleting: true), Pod(2, running: true)], T0.AddSeconds(50));

        var recovery = Assert.Single(_measurements, m => m.Instrument == "k8straining_operator_recovery");
        Assert.Equal(90, recovery.Value, 3);
    }

    [Fact]
    public void RecordStatusWritten_Should_CountTheStepsLost_When_AnAttemptEndsPastItsLastCheckpoint()
    {
        using var metrics = new OperatorMetrics();
        var written = new TrainingJobStatus
        {
            Phase = JobPhases.Restarting,
            Attempt = 2,
            Preemptions = 1,
            Progress = new TrainingProgress { GlobalStep = 137 },
            ResumeFrom = new CheckpointRecord { GlobalStep = 120 },
            LastTermination = new TerminationRecord { Attempt = 1, Outcome = AttemptOutcomes.Preempted, Reason = "NodeLost" },
        };

        metrics.RecordStatusWritten(Job(attempt: 1, phase: JobPhases.Running), written);
        metrics.RecordStatusWritten(Job(attempt: 2, phase: JobPhases.Restarting, lastTermination: written.LastTermination), written);

        var lost = Assert.Single(_measurements, m => m.Instrument == "k8straining_operator_steps_lost" && m.Value > 0);
        Assert.Equal(17, lost.Value);
        Assert.Equal(("team-a", "resnet"), (lost.Tags["job_namespace"], lost.Tags["job_name"]));
    }

    [Fact]
    public void ObservePods_Should_RecordNoRecovery_When_NoPodWasDisrupted()
    {
        using var metrics = new OperatorMetrics();

        metrics.ObservePods(Job(attempt: 1, phase: JobPhases.Running), [Pod(1, running: true)], T0);
        metrics.ObservePods(Job(attempt: 2, phase: JobPhases.Running), [Pod(2, running: true)], T0.AddSeconds(5));

        Assert.DoesNotContain(_measurements, m => m.Instrument == "k8straining_operator_recovery");
    }

    private static TrainingJob Job(int attempt, string phase, TerminationRecord? lastTermination = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = "resnet", NamespaceProperty = "team-a", Uid = "uid-1" },
        Spec = new TrainingJobSpec { Training = new TrainingSpec() },
        Status = new TrainingJobStatus { Phase = phase, Attempt = attempt, LastTermination = lastTermination },
    };

    private static V1Pod Pod(int attempt, bool running, bool disrupted = false, bool deleting = false) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = $"resnet-attempt-{attempt}",
            NamespaceProperty = "team-a",
            Labels = new Dictionary<string, string> { [WellKnown.AttemptLabel] = attempt.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            DeletionTimestamp = deleting ? T0.UtcDateTime : null,
        },
        Status = new V1PodStatus
        {
            Phase = running ? "Running" : "Pending",
            Conditions = disrupted ? [new V1PodCondition { Type = WellKnown.DisruptionTarget, Status = "True", Reason = "EvictionByEvictionAPI" }] : [],
            ContainerStatuses = running ? [new V1ContainerStatus { Name = WellKnown.TrainerContainer, State = new V1ContainerState { Running = new V1ContainerStateRunning() } }] : [],
        },
    };

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, string?>();
        foreach (var tag in tags)
        {
            copy[tag.Key] = tag.Value?.ToString();
        }

        lock (_measurements)
        {
            _measurements.Add((instrument.Name, value, copy));
        }
    }
}
