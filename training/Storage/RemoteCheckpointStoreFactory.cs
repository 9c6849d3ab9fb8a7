using Microsoft.Extensions.Logging;

namespace K8sTraining.Training.Storage;

/// <summary>Builds the remote store named by --checkpoint-uri from the standard AWS_* environment variables.</summary>
public static class RemoteCheckpointStoreFactory
{
    /// <summary>
    /// Creates the store for <paramref name="checkpointUri"/> (<c>s3://bucket/prefix</c>), keeping the newest
    /// <paramref name="keep"/> checkpoints remotely. Throws <see cref="RemoteStoreConfigurationException"/> for a
    /// malformed URI or missing credentials. With <paramref name="owner"/>, start-up checks and claims the prefix.
    /// </summary>
    public static IRemoteCheckpointStore Create(
        string checkpointUri,
        int keep,
        Func<string, string?> environment,
        ILoggerFactory loggerFactory,
        CheckpointOwnerClaim? owner = null,
        Metrics.TrainerMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        var options = S3StoreOptions.FromEnvironment(checkpointUri, keep, environment) with { Owner = owner };
        return new S3CheckpointStore(options, loggerFactory.CreateLogger<S3CheckpointStore>(), metrics);
    }
}
