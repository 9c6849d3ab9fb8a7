namespace K8sTraining.Trainer.Storage;

/// <summary>Builds the remote store named by --checkpoint-uri from the standard AWS_* environment variables.</summary>
public static class RemoteCheckpointStoreFactory
{
    /// <summary>
    /// Creates the store for <paramref name="checkpointUri"/> (<c>s3://bucket/prefix</c>), keeping the newest
    /// <paramref name="keep"/> checkpoints remotely. Throws <see cref="RemoteStoreConfigurationException"/> for a
    /// malformed URI or missing credentials.
    /// </summary>
    public static IRemoteCheckpointStore Create(
        string checkpointUri,
        int keep,
        Func<string, string?> environment,
        Microsoft.Extensions.Logging.ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _ = keep;
        // Replaced by the S3 implementation (issue 3).
        throw new RemoteStoreConfigurationException($"--checkpoint-uri '{checkpointUri}': remote checkpoint storage is not available in this build.");
    }
}
