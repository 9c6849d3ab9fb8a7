using System.Security.Cryptography;
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
    /// Describes a complete checkpoint directory that another program wrote (a trainer that knows nothing of manifests,
    /// synced by the checkpoint-sync sidecar): every file's size and sha256, in ordinal order, with the position given.
    /// Throws <see cref="InvalidDataException"/> when the directory holds a subdirectory, a <c>manifest.json</c> of its
    /// own (the name is reserved), or no file; <see cref="IOException"/> when it vanishes meanwhile.
    /// </summary>
    public static CheckpointManifest Describe(string directory, long globalStep, int epoch, int stepInEpoch)
    {
        var files = new List<CheckpointFileEntry>();
        foreach (var path in Directory.EnumerateFileSystemEntries(directory).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(path);
            if (Directory.Exists(path))
            {
                throw new InvalidDataException($"{directory} holds the subdirectory {name}: a checkpoint directory holds only files; write them flat, or archive the folder into one file.");
            }
            if (name == CheckpointLayout.ManifestFileName)
            {
                throw new InvalidDataException($"{directory} holds a {CheckpointLayout.ManifestFileName} of its own: the name is reserved for the checkpoint's manifest; name the file differently.");
            }
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            files.Add(new CheckpointFileEntry(name, stream.Length, Convert.ToHexStringLower(SHA256.HashData(stream))));
        }
        if (files.Count == 0)
        {
            throw new InvalidDataException($"{directory} holds no file.");
        }
        return new CheckpointManifest(CurrentFormatVersion, globalStep, epoch, stepInEpoch, DateTimeOffset.UtcNow, files);
    }

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
