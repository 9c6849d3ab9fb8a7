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
