using System.Text.Json;
using K8sTraining.Contract;

namespace K8sTraining.Training.Storage;

/// <summary>
/// (De)serialisation of the remote documents (their names are in <see cref="CheckpointLayout"/>, their records
/// <see cref="LatestPointer"/>, <see cref="CheckpointOwner"/> and <see cref="AttemptFence"/> in the contract). A
/// checkpoint's own manifest.json is the local format, <see cref="Checkpoints.CheckpointManifest"/>.
/// </summary>
public static class RemoteCheckpointDocuments
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = false };

    public static byte[] SerializeOwner(CheckpointOwner owner) => JsonSerializer.SerializeToUtf8Bytes(owner, Json);

    public static CheckpointOwner ParseOwner(ReadOnlySpan<byte> json)
    {
        var owner = JsonSerializer.Deserialize<CheckpointOwner>(json, Json) ?? throw new InvalidDataException("owner.json is empty.");
        return string.IsNullOrEmpty(owner.Uid) ? throw new InvalidDataException("owner.json names no uid.") : owner;
    }

    public static byte[] SerializeLatest(LatestPointer latest) => JsonSerializer.SerializeToUtf8Bytes(latest, Json);

    public static LatestPointer ParseLatest(ReadOnlySpan<byte> json)
    {
        var latest = JsonSerializer.Deserialize<LatestPointer>(json, Json) ?? throw new InvalidDataException("latest.json is empty.");
        if (!CheckpointLayout.TryParseDirectoryName(latest.Checkpoint, out _) || latest.Retained is null
            || latest.Retained.Any(r => !CheckpointLayout.TryParseDirectoryName(r, out _)))
        {
            throw new InvalidDataException($"latest.json names a checkpoint that is not {CheckpointLayout.DirectoryPrefix}<{CheckpointLayout.StepDigits} digits>.");
        }
        return latest;
    }

    public static byte[] SerializeFence(AttemptFence fence) => JsonSerializer.SerializeToUtf8Bytes(fence, Json);

    public static AttemptFence ParseFence(ReadOnlySpan<byte> json)
    {
        var fence = JsonSerializer.Deserialize<AttemptFence>(json, Json) ?? throw new InvalidDataException("the fence object is empty.");
        return fence.Attempt <= 0 ? throw new InvalidDataException($"the fence object names attempt {fence.Attempt}.") : fence;
    }
}
