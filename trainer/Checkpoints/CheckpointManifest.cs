using System.Text.Json;
using System.Text.Json.Serialization;
using K8sTraining.Contract;

namespace K8sTraining.Trainer.Checkpoints;

/// <summary>
/// manifest.json, written last into <c>step-NNNNNNNNNNNN/</c>: a checkpoint without a manifest whose sizes and sha256
/// match every file is never trusted.
/// </summary>
public sealed record CheckpointManifest(
    int FormatVersion,
    long GlobalStep,
    int Epoch,
    int StepInEpoch,
    DateTimeOffset CreatedAt,
    IReadOnlyList<CheckpointFileEntry> Files)
{
    public const int CurrentFormatVersion = 1;

    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = false,
    };

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    public static CheckpointManifest? Parse(string json) => JsonSerializer.Deserialize<CheckpointManifest>(json, JsonOptions);
}

/// <summary>One file of a checkpoint: its name, byte size and lowercase hex sha256.</summary>
public sealed record CheckpointFileEntry(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("size")] long Size,
    [property: JsonPropertyName("sha256")] string Sha256);
