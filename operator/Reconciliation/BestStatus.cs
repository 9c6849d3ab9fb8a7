using K8sTraining.Contract;
using K8sTraining.Operator.Api;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>
/// status.best: the best checkpoint the trainer reports, while it runs (its best gauges, once the best is durable) and
/// when its attempt ends (the termination message). The trainer's word is the truth (a resumed run may even name an
/// older best than the status shows, when the newer one was never made durable); a report without a best keeps what
/// the status has, since an attempt that has not reached its first epoch end knows nothing newer.
/// </summary>
public static class BestStatus
{
    /// <summary>
    /// From a running trainer's report: its best, located under the job's checkpoint root (<paramref name="root"/>: the
    /// remote URI, or the checkpoint directory in the pod without one).
    /// </summary>
    public static BestRecord? FromRunning(BestRecord? current, BestCheckpoint? reported, string root)
    {
        ArgumentNullException.ThrowIfNull(root);
        return reported is null
            ? current
            : Record(reported.GlobalStep, reported.Epoch, reported.Metric, reported.Value, reported.Weights, CheckpointLayout.Location(root, reported.GlobalStep));
    }

    /// <summary>From an ended attempt's termination message: its best, where it says the best is.</summary>
    public static BestRecord? FromTermination(BestRecord? current, BestCheckpointReport? reported) =>
        reported is null ? current : Record(reported.GlobalStep, reported.Epoch, reported.Metric, reported.Value, reported.Weights, reported.Location);

    private static BestRecord Record(long step, int epoch, string metric, double value, string weights, string location) => new()
    {
        GlobalStep = step,
        Epoch = epoch,
        Metric = metric,
        Value = value,
        Weights = weights,
        Location = location,
    };
}
