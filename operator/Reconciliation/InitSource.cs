using K8sTraining.Operator.Api;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>
/// spec.initFrom.trainingJob resolved by the shell (a read of the cache): the source job's checkpoint prefix, or why
/// there is none yet (<see cref="Reason"/> and <see cref="Message"/>).
/// </summary>
public sealed record InitSource(string? Uri, string? Reason = null, string? Message = null)
{
    /// <summary>Resolves spec.initFrom of <paramref name="job"/> against <paramref name="source"/>, the TrainingJob it names (null: not found).</summary>
    public static InitSource? Resolve(TrainingJob job, TrainingJob? source)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.Spec.InitFrom?.TrainingJob is not { Length: > 0 } name)
        {
            return null;
        }

        var ns = job.Metadata.NamespaceProperty;
        if (source is null)
        {
            return new InitSource(null, ConditionReasons.InitSourceNotFound,
                $"spec.initFrom.trainingJob names TrainingJob {ns}/{name}, which does not exist: create it, or fix the name (the source must be in the same namespace); the job waits");
        }

        return source.Spec.Checkpoint?.Uri is { Length: > 0 } uri
            ? new InitSource(uri)
            : new InitSource(null, ConditionReasons.InitSourceWithoutCheckpoints,
                $"spec.initFrom.trainingJob names TrainingJob {ns}/{name}, which has no spec.checkpoint.uri, so its checkpoints died with its pods: give spec.initFrom.uri instead, or fine-tune from a job with a checkpoint uri; the job waits");
    }

    /// <summary>The job must wait: the source cannot be read yet.</summary>
    public bool Unresolved => string.IsNullOrEmpty(Uri);
}
