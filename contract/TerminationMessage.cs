using System.Text.Json;
using System.Text.Json.Serialization;

namespace K8sTraining.Contract;

/// <summary>
/// The one JSON line a trainer leaves in its termination log (terminationMessagePath); the kubelet hands it to the
/// operator as the container's termination message.
/// </summary>
/// <remarks>
/// Every field is nullable because the operator reads what a trainer wrote, which may be older or a user's own; this
/// trainer always writes every field (nulls included). <see cref="GlobalStep"/>, <see cref="Epoch"/> and
/// <see cref="StepInEpoch"/> are the last known position (steps completed), whatever the status.
/// <see cref="Checkpoint"/> is the newest durable checkpoint the attempt knows of: a remote URI with
/// <see cref="CheckpointUploaded"/> true, or a local path with it false (never a local path with true).
/// </remarks>
public sealed record TerminationMessage
{
    /// <summary>
    /// Where the trainer writes the message and the kubelet reads it: Kubernetes' default terminationMessagePath, which the
    /// operator also sets on the trainer container.
    /// </summary>
    public const string DefaultPath = "/dev/termination-log";

    private static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = JsonIgnoreCondition.Never };

    /// <summary>One of <see cref="TerminationStatuses"/>.</summary>
    [JsonPropertyName("status")]
    public string? Status { get; init; }

    /// <summary>Optimizer steps completed since the start of training (across attempts).</summary>
    [JsonPropertyName("globalStep")]
    public long? GlobalStep { get; init; }

    /// <summary>The current epoch, 0-based.</summary>
    [JsonPropertyName("epoch")]
    public int? Epoch { get; init; }

    /// <summary>Steps completed in the current epoch.</summary>
    [JsonPropertyName("stepInEpoch")]
    public long? StepInEpoch { get; init; }

    /// <summary>The newest durable checkpoint: a remote URI or a local path (see <see cref="CheckpointLayout"/>).</summary>
    [JsonPropertyName("checkpoint")]
    public string? Checkpoint { get; init; }

    /// <summary>True when <see cref="Checkpoint"/> is committed in the remote store.</summary>
    [JsonPropertyName("checkpointUploaded")]
    public bool? CheckpointUploaded { get; init; }

    /// <summary>Accuracy on the held-out split after the last completed epoch (0..1).</summary>
    [JsonPropertyName("testAccuracy")]
    public double? TestAccuracy { get; init; }

    /// <summary>What happened, for a person.</summary>
    [JsonPropertyName("message")]
    public string? Message { get; init; }

    /// <summary>Why the trainer stopped (<see cref="TerminationReasons"/>); null when it says nothing more than its exit code.</summary>
    [JsonPropertyName("reason")]
    public string? Reason { get; init; }

    /// <summary>Where this attempt resumed; null when it started from the beginning.</summary>
    [JsonPropertyName("resumedFrom")]
    public ResumePoint? ResumedFrom { get; init; }

    /// <summary>The best checkpoint so far (by the validation metric) and where it is; null when the run keeps none.</summary>
    [JsonPropertyName("best")]
    public BestCheckpointReport? Best { get; init; }

    /// <summary>The stage the run was in (with stages); null without stages.</summary>
    [JsonPropertyName("stage")]
    public StageReport? Stage { get; init; }

    /// <summary>Where a fine-tuned run's weights came from (<see cref="TrainerEnvironment.InitFrom"/>); null otherwise.</summary>
    [JsonPropertyName("lineage")]
    public InitLineageReport? Lineage { get; init; }

    /// <summary>The message as the one JSON line a trainer writes (every field, nulls included).</summary>
    public string ToJsonLine() => JsonSerializer.Serialize(this, Json);

    /// <summary>Parses one JSON line; throws <see cref="JsonException"/> when it is not one.</summary>
    public static TerminationMessage? Parse(string line) => JsonSerializer.Deserialize<TerminationMessage>(line, Json);

    /// <summary>
    /// Parses the last JSON line of a termination message; null when there is none (with FallbackToLogsOnError the
    /// kubelet gives the log tail of a trainer that crashed before writing one).
    /// </summary>
    public static TerminationMessage? TryParse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Reverse())
        {
            if (!line.StartsWith('{'))
            {
                continue;
            }

            try
            {
                return Parse(line);
            }
            catch (JsonException)
            {
                // Not ours (a log line that happens to start with a brace); keep looking.
            }
        }

        return null;
    }
}
