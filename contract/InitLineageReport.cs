using System.Text.Json.Serialization;

namespace K8sTraining.Contract;

/// <summary>
/// Where a fine-tuned run's first weights came from: the source (directory or s3:// prefix), the checkpoint read, its
/// global step, and the parameters skipped because their name or shape did not match (a replaced head).
/// </summary>
public sealed record InitLineageReport(
    [property: JsonPropertyName("source")] string? Source,
    [property: JsonPropertyName("checkpoint")] string? Checkpoint,
    [property: JsonPropertyName("globalStep")] long? GlobalStep,
    [property: JsonPropertyName("skippedParameters")] IReadOnlyList<string>? SkippedParameters);
