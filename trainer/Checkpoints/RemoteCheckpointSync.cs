using K8sTraining.Trainer.Options;
using K8sTraining.Trainer.Storage;
using Microsoft.Extensions.Logging;

namespace K8sTraining.Trainer.Checkpoints;

/// <summary>
/// All the glue between the training loop and remote storage (--checkpoint-uri): validate at start, restore a newer
/// remote checkpoint before loading, queue every committed local checkpoint, flush within a budget at the end.
/// </summary>
public sealed class RemoteCheckpointSync : IAsyncDisposable
{
    private readonly IRemoteCheckpointStore? store;

    public RemoteCheckpointSync(IRemoteCheckpointStore? store)
    {
        this.store = store;
        if (store is not null)
        {
            Metrics.TrainerMetrics.ObserveUploadBacklog(() => store.Backlog);
        }
    }

    private RemoteFlushResult? _lastFlush;

    public bool Enabled => store is not null;

    public string? Location => store?.Location;

    public static RemoteCheckpointSync Create(TrainerOptions options, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.CheckpointUri is null
            ? new RemoteCheckpointSync(null)
            : new RemoteCheckpointSync(RemoteCheckpointStoreFactory.Create(options.CheckpointUri, options.KeepCheckpoints, Environment.GetEnvironmentVariable, loggerFactory));
    }

    public Task ValidateAsync(CancellationToken cancellationToken) => store?.ValidateAsync(cancellationToken) ?? Task.CompletedTask;

    public async Task<long?> RestoreNewestAsync(string localRoot, long localNewestStep, CancellationToken cancellationToken) =>
        store is null ? null : await store.RestoreNewestAsync(localRoot, localNewestStep, cancellationToken).ConfigureAwait(false);

    public void Enqueue(LocalCheckpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        store?.Enqueue(checkpoint.Directory);
    }

    public async Task<RemoteFlushResult?> FlushAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (store is null)
        {
            return null;
        }
        _lastFlush = await store.FlushAsync(timeout, cancellationToken).ConfigureAwait(false);
        return _lastFlush;
    }

    /// <summary>True when there is no remote store or everything queued is committed remotely.</summary>
    public bool AllUploaded => store is null || (_lastFlush?.AllCommitted ?? store.Backlog == 0);

    /// <summary>The remote URI of the newest committed checkpoint, when known.</summary>
    public string? NewestRemoteUri => _lastFlush?.NewestCommittedUri;

    public async ValueTask DisposeAsync()
    {
        if (store is not null)
        {
            await store.DisposeAsync().ConfigureAwait(false);
        }
    }
}
