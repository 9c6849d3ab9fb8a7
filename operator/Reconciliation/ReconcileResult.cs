namespace K8sTraining.Operator.Reconciliation;

/// <summary>What one reconcile asks of the work queue: nothing, a look again later, or a rate-limited retry.</summary>
public abstract record ReconcileResult
{
    public static readonly ReconcileResult Done = new DoneResult();

    public static ReconcileResult After(TimeSpan delay) => new RequeueAfterResult(delay);

    public static ReconcileResult Retry(string why) => new RetryResult(why);

    public sealed record DoneResult : ReconcileResult;

    public sealed record RequeueAfterResult(TimeSpan Delay) : ReconcileResult;

    public sealed record RetryResult(string Why) : ReconcileResult;
}
