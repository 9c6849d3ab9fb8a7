namespace K8sTraining.Operator.Reconciliation;

/// <summary>Thrown when a write lost an optimistic-concurrency race (409); the reconcile is simply retried.</summary>
public sealed class ConflictException(string message) : Exception(message);
