using System.Security.Cryptography;
using System.Text;
using K8sTraining.Training.Checkpoints;
using static TorchSharp.torch;

namespace K8sTraining.Training.Distributed;

/// <summary>
/// Hands rank 0's resume checkpoint to the other ranks, so only rank 0 ever reads the remote store: rank 0 broadcasts
/// its manifest (empty for a fresh start) and then every file; the others check each file against the manifest's
/// sha256 and commit the copy into their own checkpoint directory, from which the normal resume path loads it.
/// </summary>
public static class ResumeTransfer
{
    /// <summary>Rank 0: sends <paramref name="checkpoint"/> (null: a fresh start) to every other rank.</summary>
    public static void Send(ICollective collective, LocalCheckpoint? checkpoint)
    {
        ArgumentNullException.ThrowIfNull(collective);
        var manifest = checkpoint is null ? [] : Encoding.UTF8.GetBytes(checkpoint.Manifest.ToJson());
        Broadcast(collective, manifest);
        if (checkpoint is null)
        {
            return;
        }
        foreach (var file in checkpoint.Manifest.Files)
        {
            Broadcast(collective, File.ReadAllBytes(checkpoint.FilePath(file.Name)));
        }
    }

    /// <summary>Ranks above 0: receives rank 0's resume checkpoint into <paramref name="store"/>; null for a fresh start.</summary>
    public static LocalCheckpoint? Receive(ICollective collective, LocalCheckpointStore store)
    {
        ArgumentNullException.ThrowIfNull(collective);
        ArgumentNullException.ThrowIfNull(store);
        var json = Broadcast(collective, null);
        if (json.Length == 0)
        {
            return null;
        }
        var manifest = CheckpointManifest.Parse(Encoding.UTF8.GetString(json)) ?? throw new InvalidDataException("Rank 0 sent an empty checkpoint manifest.");
        var files = new List<(string Name, byte[] Content)>();
        foreach (var entry in manifest.Files)
        {
            var content = Broadcast(collective, null);
            if (content.Length != entry.Size || !string.Equals(Convert.ToHexStringLower(SHA256.HashData(content)), entry.Sha256, StringComparison.Ordinal))
            {
                throw new InvalidDataException($"{entry.Name} of rank 0's checkpoint at step {manifest.GlobalStep} arrived with {content.Length} bytes that do not match its manifest.");
            }
            files.Add((entry.Name, content));
        }
        return store.Write(new CheckpointSnapshot(manifest.GlobalStep, manifest.Epoch, manifest.StepInEpoch, files) { Best = manifest.Best });
    }

    /// <summary>Broadcasts rank 0's bytes (its length first); the others pass null and get them.</summary>
    private static byte[] Broadcast(ICollective collective, byte[]? data)
    {
        using var scope = NewDisposeScope();
        var length = empty(1, ScalarType.Int64);
        length.bytes = BitConverter.GetBytes((long)(data?.Length ?? 0));
        collective.Broadcast(length, 0);
        var count = length.data<long>()[0];
        if (count == 0)
        {
            return [];
        }
        var content = empty(count, ScalarType.Byte);
        if (data is not null)
        {
            content.bytes = data;
        }
        collective.Broadcast(content, 0);
        return data ?? content.bytes.ToArray();
    }
}
