using System.Text.Json;
using System.Text.Json.Serialization;

namespace K8sTraining.Trainer.Hosting;

/// <summary>The one JSON line the trainer leaves in the termination log; Kubernetes copies it into the pod status.</summary>
/// <remarks>
/// <see cref="GlobalStep"/>, <see cref="Epoch"/> and <see cref="StepInEpoch"/> are always the last known position (steps
/// completed), whatever the status. <see cref="Checkpoint"/> is the newest durable checkpoint this attempt knows of: a
/// remote URI with <see cref="CheckpointUploaded"/> true, or a local path with it false (never a local path with true).
/// </remarks>
public sealed record TerminationReport(
    string Status,
    long GlobalStep,
    int Epoch,
    int StepInEpoch,
    string? Checkpoint,
    bool CheckpointUploaded,
    double? TestAccuracy,
    string Message,
    string? Reason = null,
    ResumePoint? ResumedFrom = null)
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

/// <summary>Where an attempt resumed: the position restored and the checkpoint it came from (remote URI or local path).</summary>
public sealed record ResumePoint(long GlobalStep, int Epoch, int StepInEpoch, string Checkpoint);

/// <summary>The <c>reason</c> of a termination report (PascalCase, as Kubernetes condition reasons); null otherwise.</summary>
public static class TerminationReasons
{
    /// <summary>Exit 2: a flag, a file or a directory the user gave cannot be used.</summary>
    public const string InvalidConfiguration = "InvalidConfiguration";

    /// <summary>Exit 2: the --checkpoint-uri prefix belongs to another job (owner.json).</summary>
    public const string CheckpointPrefixInUse = "CheckpointPrefixInUse";

    /// <summary>Exit 69: the remote checkpoint store stayed unreachable through the start-up retry budget.</summary>
    public const string StorageUnavailable = "StorageUnavailable";
}
