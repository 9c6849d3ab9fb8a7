using System.Text.Json;
using System.Text.Json.Serialization;

namespace K8sTraining.Operator.Api;

/// <summary>The one JSON line the trainer writes to its termination log; the kubelet hands it over as the container's message.</summary>
public sealed record TrainerTerminationMessage
{
    [JsonPropertyName("status")]
    public string? Status { get; init; }

    [JsonPropertyName("globalStep")]
    public long? GlobalStep { get; init; }

    [JsonPropertyName("epoch")]
    public int? Epoch { get; init; }

    [JsonPropertyName("stepInEpoch")]
    public long? StepInEpoch { get; init; }

    [JsonPropertyName("checkpoint")]
    public string? Checkpoint { get; init; }

    [JsonPropertyName("checkpointUploaded")]
    public bool? CheckpointUploaded { get; init; }

    [JsonPropertyName("testAccuracy")]
    public double? TestAccuracy { get; init; }

    [JsonPropertyName("message")]
    public string? Message { get; init; }

    /// <summary>Why the trainer stopped, PascalCase (<see cref="TerminationReasons"/>); null when it says nothing more than its exit code.</summary>
    [JsonPropertyName("reason")]
    public string? Reason { get; init; }

    /// <summary>Where this attempt resumed; null when it started from the beginning.</summary>
    [JsonPropertyName("resumedFrom")]
    public ResumedFromRecord? ResumedFrom { get; init; }

    /// <summary>Parses the last JSON line of a termination message; null when there is none (e.g. log tail of a crash).</summary>
    public static TrainerTerminationMessage? TryParse(string? text)
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
                return JsonSerializer.Deserialize<TrainerTerminationMessage>(line);
            }
            catch (JsonException)
            {
                // Not ours (FallbackToLogsOnError gives the log tail); keep looking.
            }
        }

        return null;
    }
}

/// <summary>The checkpoint an attempt restored at start-up, as the trainer reports it in its termination message.</summary>
public sealed record ResumedFromRecord
{
    [JsonPropertyName("globalStep")]
    public long GlobalStep { get; init; }

    [JsonPropertyName("epoch")]
    public int Epoch { get; init; }

    [JsonPropertyName("stepInEpoch")]
    public long StepInEpoch { get; init; }

    [JsonPropertyName("checkpoint")]
    public string? Checkpoint { get; init; }
}

/// <summary>Values of the termination message's <c>reason</c> (the contract shared with the trainer).</summary>
public static class TerminationReasons
{
    public const string InvalidConfiguration = "InvalidConfiguration";

    /// <summary>The checkpoint prefix holds another job's checkpoints (exit 2).</summary>
    public const string CheckpointPrefixInUse = "CheckpointPrefixInUse";

    /// <summary>The remote checkpoint store could not be reached at start-up (exit 69).</summary>
    public const string StorageUnavailable = "StorageUnavailable";
}
