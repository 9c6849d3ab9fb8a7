using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;
using K8sTraining.Training.Metrics;
using K8sTraining.Training.Options;
using Microsoft.Extensions.Logging;

namespace K8sTraining.Training.Storage;

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
    }

    public bool Enabled => store is not null;

    public string? Location => store?.Location;

    public static RemoteCheckpointSync Create(TrainerOptions options, ILoggerFactory loggerFactory, TrainerMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var owner = options.JobUid is { Length: > 0 } uid ? new CheckpointOwnerClaim(uid, options.JobNamespace, options.JobName, options.CheckpointAdopt) : null;
        return options.CheckpointUri is null
            ? new RemoteCheckpointSync(null)
            : new RemoteCheckpointSync(RemoteCheckpointStoreFactory.Create(options.CheckpointUri, options.KeepCheckpoints, Environment.GetEnvironmentVariable, loggerFactory, owner, metrics));
    }

    public Task ValidateAsync(CancellationToken cancellationToken) => store?.ValidateAsync(cancellationToken) ?? Task.CompletedTask;

    public async Task<long?> RestoreNewestAsync(string localRoot, long localNewestStep, CancellationToken cancellationToken) =>
        store is null ? null : await store.RestoreNewestAsync(localRoot, localNewestStep, cancellationToken).ConfigureAwait(false);

    public void Enqueue(LocalCheckpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        store?.Enqueue(checkpoint.Directory);
    }

    public async Task<RemoteFlushResult?> FlushAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        store is null ? null : await store.FlushAsync(timeout, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Throws the store's <see cref="SupersededException"/> once a newer attempt owns the prefix, so the loop stops
    /// between steps and finishes nothing more.
    /// </summary>
    public void ThrowIfSuperseded()
    {
        if (store?.Superseded is { } superseded)
        {
            throw superseded;
        }
    }

    /// <summary>Checkpoints handed over and not yet committed remotely.</summary>
    public int Backlog => store?.Backlog ?? 0;

    /// <summary>The newest checkpoint committed remotely (its step and URI), when there is one.</summary>
    public (long GlobalStep, string Uri)? NewestCommitted =>
        store?.NewestCommittedGlobalStep is { } step ? (step, UriOf(step)!) : null;

    /// <summary>The remote URI of the checkpoint at <paramref name="globalStep"/>; null without a remote store.</summary>
    public string? UriOf(long globalStep) => store is null ? null : CheckpointLayout.Location(store.Location, globalStep);

    public async ValueTask DisposeAsync()
    {
        if (store is not null)
        {
            await store.DisposeAsync().ConfigureAwait(false);
        }
    }
}
