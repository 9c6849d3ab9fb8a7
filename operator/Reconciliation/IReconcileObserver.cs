using K8sTraining.Operator.Api;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>Told what each reconcile decided and did; the operator's metrics listen here (they never read the controller).</summary>
public interface IReconcileObserver
{
    /// <summary>A reconcile ended with <paramref name="result"/> after <paramref name="took"/>.</summary>
    void Reconciled(ReconcileResult result, TimeSpan took);

    /// <summary>The job <paramref name="key"/> (namespace/name) is gone.</summary>
    void JobGone(string key);

    /// <summary>The decider's <paramref name="decision"/> on <paramref name="job"/> (as read) at <paramref name="now"/>, before it is applied.</summary>
    void Decided(TrainingJob job, Decision decision, DateTimeOffset now);

    /// <summary>A trainer pod was created for <paramref name="job"/>.</summary>
    void PodCreated(TrainingJob job);

    /// <summary>The status <paramref name="written"/> replaced the one <paramref name="job"/> was read with.</summary>
    void StatusWritten(TrainingJob job, TrainingJobStatus written);
}
