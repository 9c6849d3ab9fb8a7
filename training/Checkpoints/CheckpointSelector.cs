using K8sTraining.Contract;
using K8sTraining.Training.Options;

namespace K8sTraining.Training.Checkpoints;

/// <summary>
/// Finds the checkpoint a command names (<c>best</c>, <c>latest</c> or <c>step-N</c>) in a local checkpoint directory.
/// Development stand-in of the <c>best</c> helper's selector (which also restores from <c>s3://</c>); the API is theirs.
/// </summary>
public static class CheckpointSelector
{
    /// <summary>The verified checkpoint <paramref name="selector"/> names in <paramref name="source"/>.</summary>
    public static Task<LocalCheckpoint> ResolveAsync(string source, string selector, string scratchDirectory, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(selector);
        ct.ThrowIfCancellationRequested();
        if (CheckpointLayout.IsRemote(source))
        {
            throw new InvalidInputException($"{source}: remote checkpoint stores are not supported by this build; copy the checkpoints to a local directory and use --checkpoint-dir");
        }
        if (!Directory.Exists(source))
        {
            throw new InvalidInputException($"--checkpoint-dir {source} is not a directory; point it at the directory the training run wrote its checkpoints to");
        }
        var valid = Directory.EnumerateDirectories(source, CheckpointLayout.DirectorySearchPattern)
            .Where(d => CheckpointLayout.TryParseDirectoryName(Path.GetFileName(d), out _))
            .OrderByDescending(d => Path.GetFileName(d), StringComparer.Ordinal)
            .Select(d => (Directory: d, Problem: LocalCheckpointStore.Verify(d, out var manifest), Manifest: manifest))
            .Where(c => c.Problem is null)
            .Select(c => new LocalCheckpoint(c.Directory, c.Manifest!))
            .ToList();
        if (valid.Count == 0)
        {
            throw new InvalidInputException($"{source} holds no complete checkpoint (a checkpoint directory whose {CheckpointLayout.ManifestFileName} verifies)");
        }
        long step;
        if (selector == "latest")
        {
            return Task.FromResult(valid[0]);
        }
        if (selector == "best")
        {
            step = valid[0].Manifest.Best?.GlobalStep
                ?? throw new InvalidInputException($"{valid[0].Directory} records no best checkpoint; train with a validation split (--val-fraction) and --best-metric, or choose --checkpoint latest");
        }
        else if (!selector.StartsWith(CheckpointLayout.DirectoryPrefix, StringComparison.Ordinal)
            || !long.TryParse(selector.AsSpan(CheckpointLayout.DirectoryPrefix.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out step))
        {
            throw new InvalidInputException($"--checkpoint: '{selector}' is not allowed; allowed: best, latest, {CheckpointLayout.DirectoryPrefix}N");
        }
        return Task.FromResult(valid.FirstOrDefault(c => c.Manifest.GlobalStep == step)
            ?? throw new InvalidInputException($"No usable checkpoint {CheckpointLayout.DirectoryName(step)} in {source} (it holds {string.Join(", ", valid.Select(c => Path.GetFileName(c.Directory)))}): name one of those, or best or latest."));
    }
}
