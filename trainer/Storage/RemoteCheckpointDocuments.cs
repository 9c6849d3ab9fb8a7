using System.Text.Json;
using K8sTraining.Contract;

namespace K8sTraining.Trainer.Storage;

/// <summary>One file of a checkpoint as its manifest lists it.</summary>
public sealed record CheckpointFileEntry(string Name, long Size, string Sha256);

/// <summary>
/// The parts of a checkpoint's <c>manifest.json</c> the store relies on (the training loop owns the format; unknown
/// fields are kept because the manifest is uploaded byte for byte).
/// </summary>
public sealed record CheckpointManifestView(int FormatVersion, long GlobalStep, IReadOnlyList<CheckpointFileEntry> Files);

/// <summary>
/// (De)serialisation of the remote documents (their names are in <see cref="CheckpointLayout"/>, their records
/// <see cref="LatestPointer"/>, <see cref="CheckpointOwner"/> and <see cref="AttemptFence"/> in the contract).
/// </summary>
public static class RemoteCheckpointDocuments
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = false };

    /// <summary>Parses a manifest and checks it names only plain files with a size and a lowercase sha256.</summary>
    public static CheckpointManifestView ParseManifest(ReadOnlySpan<byte> json)
    {
        var view = JsonSerializer.Deserialize<CheckpointManifestView>(json, Json)
            ?? throw new InvalidDataException("manifest.json is empty.");
        if (view.Files is null || view.Files.Count == 0)
        {
            throw new InvalidDataException("manifest.json lists no files.");
        }
        foreach (var f in view.Files)
        {
            if (string.IsNullOrEmpty(f.Name) || f.Name != Path.GetFileName(f.Name) || f.Name is "." or ".." or CheckpointLayout.ManifestFileName
                || f.Size < 0 || f.Sha256 is not { Length: 64 } || !f.Sha256.All(char.IsAsciiHexDigitLower))
            {
                throw new InvalidDataException($"manifest.json has an invalid file entry '{f.Name}'.");
            }
        }
        return view;
    }

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
