using K8sTraining.Contract;
using K8sTraining.Training.Options;
using K8sTraining.Training.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace K8sTraining.Training.Checkpoints;

/// <summary>
/// Finds the checkpoint a command reads (<c>--checkpoint best|latest|step-N</c>) in a local checkpoint directory (the
/// trainer's --checkpoint-dir) or an <c>s3://bucket/prefix</c> (fetched by <see cref="RemoteCheckpointFetcher"/>).
/// latest is the newest checkpoint that verifies; best is the one the newest checkpoint's manifest names
/// (<see cref="CheckpointManifest.Best"/>); step-N is the checkpoint at global step N. What it returns has verified.
/// </summary>
public static class CheckpointSelector
{
    /// <summary>
    /// Resolves <paramref name="selector"/> in <paramref name="source"/>: a local checkpoint directory, or an s3:// prefix
    /// whose checkpoint is downloaded under <paramref name="scratchDirectory"/> (credentials from the AWS_* variables).
    /// Throws <see cref="InvalidInputException"/> (exit 2) saying what is missing and what to give instead.
    /// </summary>
    public static Task<LocalCheckpoint> ResolveAsync(string source, string selector, string scratchDirectory, CancellationToken ct) =>
        ResolveAsync(source, selector, scratchDirectory, Environment.GetEnvironmentVariable, NullLogger.Instance, ct);

    /// <inheritdoc cref="ResolveAsync(string, string, string, CancellationToken)"/>
    public static Task<LocalCheckpoint> ResolveAsync(string source, string selector, string scratchDirectory, Func<string, string?> environment, ILogger logger, CancellationToken ct) =>
        ResolveAsync(source, CheckpointSelection.Parse(selector), scratchDirectory, environment, logger, ct);

    /// <inheritdoc cref="ResolveAsync(string, string, string, CancellationToken)"/>
    public static Task<LocalCheckpoint> ResolveAsync(string source, CheckpointSelection selection, string scratchDirectory, Func<string, string?> environment, ILogger logger, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(source))
        {
            throw new InvalidInputException($"No checkpoint source given: name a checkpoint directory (--checkpoint-dir) or an s3:// prefix (--checkpoint-uri).");
        }
        if (source.StartsWith(CheckpointLayout.RemoteScheme, StringComparison.Ordinal))
        {
            return RemoteCheckpointFetcher.FetchAsync(source, selection, scratchDirectory, environment, logger, ct);
        }
        return Task.FromResult(ResolveLocal(source, selection));
    }

    /// <summary>The selected checkpoint in the local checkpoint directory <paramref name="directory"/>.</summary>
    public static LocalCheckpoint ResolveLocal(string directory, CheckpointSelection selection)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(selection);
        if (!Directory.Exists(directory))
        {
            throw new InvalidInputException($"Checkpoint directory {directory} does not exist: give the trainer's --checkpoint-dir, or an s3:// prefix.");
        }
        var names = Directory.EnumerateDirectories(directory, CheckpointLayout.DirectorySearchPattern)
            .Select(Path.GetFileName)
            .Where(n => CheckpointLayout.TryParseDirectoryName(n, out _))
            .OrderDescending(StringComparer.Ordinal)
            .ToList();
        var holds = names.Count == 0 ? "it holds no checkpoints" : $"it holds {string.Join(", ", names)}";
        if (selection.Step is { } step)
        {
            return Verified(directory, CheckpointLayout.DirectoryName(step))
                ?? throw new InvalidInputException($"No usable checkpoint {CheckpointLayout.DirectoryName(step)} in {directory} ({holds}): name one of those, or {CheckpointSelectors.Best} or {CheckpointSelectors.Latest}.");
        }
        var newest = names.Select(n => Verified(directory, n!)).FirstOrDefault(c => c is not null)
            ?? throw new InvalidInputException($"No checkpoint in {directory} verifies ({holds}): give the trainer's --checkpoint-dir, or an s3:// prefix.");
        if (selection.IsLatest)
        {
            return newest;
        }
        if (newest.Manifest.Best is not { } best)
        {
            if (selection.LatestWhenNoBest)
            {
                return newest;
            }
            throw new InvalidInputException(RemoteCheckpointFetcher.NoBest(directory));
        }
        var bestName = CheckpointLayout.DirectoryName(best.GlobalStep);
        return Verified(directory, bestName)
            ?? throw new InvalidInputException($"The best checkpoint {bestName} ({best.Metric} {best.Value}) named by {newest.Directory} is missing or does not verify in {directory} ({holds}): name another by its step, or {CheckpointSelectors.Latest}.");
    }

    private static LocalCheckpoint? Verified(string root, string name)
    {
        var dir = Path.Combine(root, name);
        return Directory.Exists(dir) && LocalCheckpointStore.Verify(dir, out var manifest) is null ? new LocalCheckpoint(dir, manifest!) : null;
    }
}
