using K8sTraining.Contract;
using K8sTraining.Training.Checkpoints;

namespace K8sTraining.Training.Storage;

/// <summary>
/// Downloads one remote checkpoint <c>step-N</c> into a local checkpoint root: its manifest, every file it lists (each
/// verified by size and sha256 as it lands), the manifest written last, then the directory moved into place. Shared by
/// the restore at start-up and <see cref="RemoteCheckpointFetcher"/>.
/// </summary>
internal static class S3CheckpointDownload
{
    /// <summary>
    /// Returns the bytes downloaded; throws <see cref="InvalidDataException"/> when the checkpoint is missing (no
    /// manifest), its manifest is malformed or names another step, or a file does not verify.
    /// </summary>
    public static async Task<long> DownloadAsync(IObjectStorage objects, S3CheckpointLocation location, string root, string name, CancellationToken cancellationToken)
    {
        var manifestBytes = await objects.GetBytesAsync(location.Key($"{name}/{CheckpointLayout.ManifestFileName}"), cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidDataException($"its {CheckpointLayout.ManifestFileName} is missing");
        CheckpointManifest manifest;
        try
        {
            manifest = CheckpointManifest.ParseVerified(manifestBytes);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new InvalidDataException($"its {CheckpointLayout.ManifestFileName} is not valid JSON ({e.Message})", e);
        }
        if (CheckpointLayout.DirectoryName(manifest.GlobalStep) != name)
        {
            throw new InvalidDataException($"its {CheckpointLayout.ManifestFileName} says globalStep {manifest.GlobalStep}");
        }
        Directory.CreateDirectory(root);
        var temporary = Path.Combine(root, $".restore-{name}-{Environment.ProcessId}");
        if (Directory.Exists(temporary))
        {
            Directory.Delete(temporary, recursive: true);
        }
        Directory.CreateDirectory(temporary);
        try
        {
            foreach (var file in manifest.Files)
            {
                await objects.DownloadFileAsync(location.Key($"{name}/{file.Name}"), Path.Combine(temporary, file.Name), file, cancellationToken).ConfigureAwait(false);
            }
            // Written last, as the training loop does: a local checkpoint without its manifest does not exist.
            await File.WriteAllBytesAsync(Path.Combine(temporary, CheckpointLayout.ManifestFileName), manifestBytes, cancellationToken).ConfigureAwait(false);
            var target = Path.Combine(root, name);
            if (Directory.Exists(target))
            {
                Directory.Delete(target, recursive: true);
            }
            Directory.Move(temporary, target);
            return manifest.Files.Sum(f => f.Size);
        }
        catch
        {
            if (Directory.Exists(temporary))
            {
                Directory.Delete(temporary, recursive: true);
            }
            throw;
        }
    }
}
