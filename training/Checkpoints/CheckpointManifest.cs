using System.Text.Json;
using System.Text.Json.Serialization;
using K8sTraining.Contract;

namespace K8sTraining.Training.Checkpoints;

/// <summary>
/// manifest.json, written last into <c>step-NNNNNNNNNNNN/</c>: a checkpoint without a manifest whose sizes and sha256
/// match every file is never trusted. <see cref="Best"/>, when set, is the best checkpoint as of this one (this one or an
/// older one), which retention keeps. The one checkpoint format: local checkpoints and remote storage both read it here.
/// </summary>
public sealed record CheckpointManifest(
    int FormatVersion,
    long GlobalStep,
    int Epoch,
    int StepInEpoch,
    DateTimeOffset CreatedAt,
    IReadOnlyList<CheckpointFileEntry> Files,
    BestCheckpoint? Best = null)
{
    public const int CurrentFormatVersion = 1;

    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = false,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    public static CheckpointManifest? Parse(string json) => JsonSerializer.Deserialize<CheckpointManifest>(json, JsonOptions);

    /// <summary>
    /// Parses a manifest from outside this process (a remote store) and checks it names only plain files with a size
    /// and a lowercase sha256; throws <see cref="InvalidDataException"/> otherwise. The format version is checked where
    /// the checkpoint is loaded (<see cref="LocalCheckpointStore.Verify"/>).
    /// </summary>
    public static CheckpointManifest ParseVerified(ReadOnlySpan<byte> json)
    {
        var manifest = JsonSerializer.Deserialize<CheckpointManifest>(json, JsonOptions)
            ?? throw new InvalidDataException($"{CheckpointLayout.ManifestFileName} is empty.");
        if (manifest.Files is null || manifest.Files.Count == 0)
        {
            throw new InvalidDataException($"{CheckpointLayout.ManifestFileName} lists no files.");
        }
        foreach (var f in manifest.Files)
        {
            if (string.IsNullOrEmpty(f.Name) || f.Name != Path.GetFileName(f.Name) || f.Name is "." or ".." or CheckpointLayout.ManifestFileName
                || f.Size < 0 || f.Sha256 is not { Length: 64 } || !f.Sha256.All(char.IsAsciiHexDigitLower))
            {
                throw new InvalidDataException($"{CheckpointLayout.ManifestFileName} has an invalid file entry '{f.Name}'.");
            }
        }
        return manifest;
    }
}

/// <summary>One file of a checkpoint: its name, byte size and lowercase hex sha256.</summary>
public sealed record CheckpointFileEntry(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("size")] long Size,
    [property: JsonPropertyName("sha256")] string Sha256);
