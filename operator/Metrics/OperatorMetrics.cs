using System.Diagnostics.Metrics;

namespace K8sTraining.Operator.Metrics;

/// <summary>The operator's instruments (meter "K8sTraining.Operator"); issue 6 exports them to Prometheus.</summary>
public sealed class OperatorMetrics : IDisposable
{
    public const string MeterName = "K8sTraining.Operator";

    private readonly Meter _meter = new(MeterName);

    public OperatorMetrics()
    {
        Reconciles = _meter.CreateCounter<long>("k8straining_operator_reconciles", description: "Reconciles by result (done, requeue, conflict, error).");
        ReconcileDuration = _meter.CreateHistogram<double>("k8straining_operator_reconcile_duration", "s", "Time spent in one reconcile.");
        PodsCreated = _meter.CreateCounter<long>("k8straining_operator_pods_created", description: "Trainer pods created.");
        AttemptsEnded = _meter.CreateCounter<long>("k8straining_operator_attempts_ended", description: "Attempts ended, by outcome (Preempted, Failed, Succeeded...).");
        StatusWrites = _meter.CreateCounter<long>("k8straining_operator_status_writes", description: "Status subresource writes.");
    }

    public Counter<long> Reconciles { get; }

    public Histogram<double> ReconcileDuration { get; }

    public Counter<long> PodsCreated { get; }

    public Counter<long> AttemptsEnded { get; }

    public Counter<long> StatusWrites { get; }

    public void Dispose() => _meter.Dispose();
}
