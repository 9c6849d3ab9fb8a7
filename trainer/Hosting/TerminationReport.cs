using System.Text.Json;
using System.Text.Json.Serialization;

namespace K8sTraining.Trainer.Hosting;

/// <summary>The one JSON line the trainer leaves in the termination log; Kubernetes copies it into the pod status.</summary>
public sealed record TerminationReport(
    string Status,
    long GlobalStep,
    int Epoch,
    int StepInEpoch,
    string? Checkpoint,
    bool CheckpointUploaded,
    double? TestAccuracy,
    string Message)
{
    public const string Completed = "completed";
    public const string Preempted = "preempted";
    public const string Failed = "failed";
    public const string Invalid = "invalid";

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public string ToJsonLine() => JsonSerializer.Serialize(this, JsonOptions);

    public static TerminationReport? Parse(string json) => JsonSerializer.Deserialize<TerminationReport>(json, JsonOptions);
}
