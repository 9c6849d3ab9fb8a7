using System.Text.Json.Serialization;

namespace K8sTraining.Contract;

/// <summary>Where an attempt resumed: the position restored and the checkpoint it came from (remote URI or local path).</summary>
public sealed record ResumePoint(
    [property: JsonPropertyName("globalStep")] long GlobalStep,
    [property: JsonPropertyName("epoch")] int Epoch,
    [property: JsonPropertyName("stepInEpoch")] long StepInEpoch,
    [property: JsonPropertyName("checkpoint")] string? Checkpoint);
