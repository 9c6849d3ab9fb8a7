using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;
using K8sTraining.Training.Options;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace K8sTraining.Training.Storage;

/// <summary>
/// Fetches one named checkpoint (<see cref="CheckpointSelection"/>: best, latest or step-N) from an <c>s3://</c> prefix
/// into a local directory, verified by its manifest, for the commands that read a checkpoint (evaluate, predict, export).
/// Reads only: it never writes to the prefix, so it may run beside a training job. latest is the newest listed checkpoint
/// that verifies; best is the one latest.json names (or, from an older latest.json, the newest manifest's Best).
/// </summary>
public static class RemoteCheckpointFetcher
{
    /// <summary>
    /// Fetches <paramref name="selector"/> from <paramref name="uri"/> (<c>s3://bucket/prefix</c>, credentials from the
    /// standard AWS_* variables) into <paramref name="localDirectory"/>/step-N and returns it; a copy already there that
    /// verifies is used as it is. Throws <see cref="InvalidInputException"/> when the selector is malformed or names no
    /// checkpoint there, <see cref="RemoteStoreConfigurationException"/> for a malformed URI, missing credentials or bucket.
    /// </summary>
    public static Task<LocalCheckpoint> FetchAsync(string uri, string selector, string localDirectory, CancellationToken cancellationToken) =>
        FetchAsync(uri, selector, localDirectory, Environment.GetEnvironmentVariable, NullLogger.Instance, cancellationToken);

    /// <inheritdoc cref="FetchAsync(string, string, string, CancellationToken)"/>
    public static Task<LocalCheckpoint> FetchAsync(string uri, string selector, string localDirectory, Func<string, string?> environment, ILogger logger, CancellationToken cancellationToken) =>
        FetchAsync(uri, CheckpointSelection.Parse(selector), localDirectory, environment, logger, cancellationToken);

    /// <inheritdoc cref="FetchAsync(string, string, string, CancellationToken)"/>
    public static async Task<LocalCheckpoint> FetchAsync(string uri, CheckpointSelection selection, string localDirectory, Func<string, string?> environment, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(localDirectory);
        ArgumentNullException.ThrowIfNull(selection);
        var options = S3StoreOptions.FromEnvironment(uri, keep: 0, environment);
        using var objects = new S3ObjectClient(options);
        return await FetchAsync(options, objects, selection, localDirectory, logger, cancellationToken).ConfigureAwait(false);
    }

    internal static async Task<LocalCheckpoint> FetchAsync(S3StoreOptions options, IObjectStorage objects, CheckpointSelection selection, string localDirectory, ILogger logger, CancellationToken cancellationToken)
    {
        var location = options.Location;
        var retry = new RemoteRetry(options, logger);
        var latestBytes = await retry.AtStartupAsync($"reading {CheckpointLayout.LatestFileName}", ct => objects.GetBytesAsync(location.Key(CheckpointLayout.LatestFileName), ct), cancellationToken).ConfigureAwait(false);
        LatestPointer? pointer = null;
        if (latestBytes is not null)
        {
            try
            {
                pointer = RemoteCheckpointDocuments.ParseLatest(latestBytes);
            }
            catch (Exception e) when (e is InvalidDataException or System.Text.Json.JsonException)
            {
                throw new InvalidInputException($"{location.Uri(CheckpointLayout.LatestFileName)} is unreadable ({e.Message}): name a checkpoint by its step ({CheckpointSelectors.StepPrefix}N) instead.", e);
            }
        }
        var listed = pointer is null
            ? []
            : pointer.Retained.Append(pointer.Checkpoint).Distinct(StringComparer.Ordinal).OrderDescending(StringComparer.Ordinal).ToList();
        var holds = listed.Count == 0 ? "no checkpoints listed" : $"it lists {string.Join(", ", listed)}";

        if (selection.Step is { } step)
        {
            var name = CheckpointLayout.DirectoryName(step);
            return await DownloadAsync(options, objects, retry, name, localDirectory, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidInputException($"No usable checkpoint {name} at {location} ({holds}): name one of those, or {CheckpointSelectors.Best} or {CheckpointSelectors.Latest}.");
        }
        if (pointer is null)
        {
            throw new InvalidInputException($"No checkpoint at {location}: it has no {CheckpointLayout.LatestFileName}. Check the URI (the job's spec.checkpoint.uri, s3://bucket/prefix).");
        }
        if (selection.IsLatest)
        {
            return await NewestAsync().ConfigureAwait(false);
        }

        var best = pointer.Best;
        if (best is null && await DownloadAsync(options, objects, retry, pointer.Checkpoint, localDirectory, cancellationToken).ConfigureAwait(false) is { } newest)
        {
            best = newest.Manifest.Best;
        }
        if (best is null && selection.LatestWhenNoBest)
        {
            return await NewestAsync().ConfigureAwait(false);
        }
        if (best is null)
        {
            throw new InvalidInputException(NoBest(location.ToString()));
        }
        var bestName = CheckpointLayout.DirectoryName(best.GlobalStep);
        return await DownloadAsync(options, objects, retry, bestName, localDirectory, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidInputException($"The best checkpoint {bestName} ({best.Metric} {best.Value}) named at {location} is missing or does not verify ({holds}): name another by its step, or {CheckpointSelectors.Latest}.");

        // latest: the newest listed checkpoint that verifies.
        async Task<LocalCheckpoint> NewestAsync()
        {
            foreach (var name in listed)
            {
                if (await DownloadAsync(options, objects, retry, name, localDirectory, cancellationToken).ConfigureAwait(false) is { } found)
                {
                    return found;
                }
            }
            throw new InvalidInputException($"No checkpoint at {location} verifies ({holds}).");
        }
    }

    /// <summary>Why there is no best checkpoint, and what to do instead.</summary>
    internal static string NoBest(string where) =>
        $"No best checkpoint at {where}: the run kept none (no validation split, or --best-metric {BestMetricNames.None}), or has not finished an epoch yet. Use {CheckpointSelectors.Latest} or {CheckpointSelectors.StepPrefix}N, or train with a validation split (--val-fraction).";

    // The checkpoint in the local directory when a copy there verifies, else downloaded; null when the store has no
    // such checkpoint or it does not verify.
    private static async Task<LocalCheckpoint?> DownloadAsync(S3StoreOptions options, IObjectStorage objects, RemoteRetry retry, string name, string localDirectory, CancellationToken cancellationToken)
    {
        var target = Path.Combine(localDirectory, name);
        if (Directory.Exists(target) && LocalCheckpointStore.Verify(target, out var cached) is null)
        {
            return new LocalCheckpoint(target, cached!);
        }
        try
        {
            await retry.AtStartupAsync($"fetching {name}", ct => S3CheckpointDownload.DownloadAsync(objects, options.Location, localDirectory, name, ct), cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidDataException)
        {
            return null;
        }
        catch (Exception e) when (RemoteFailure.Classify(e) is RemoteFailureKind.DamagedData or RemoteFailureKind.LocalDamaged)
        {
            return null;
        }
        return LocalCheckpointStore.Verify(target, out var manifest) is null ? new LocalCheckpoint(target, manifest!) : null;
    }
}
