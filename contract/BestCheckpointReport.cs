using System.Text.Json.Serialization;

namespace K8sTraining.Contract;

/// <summary>
/// The best checkpoint as a trainer reports it (<see cref="TerminationMessage.Best"/>) and the operator shows it
/// (<c>status.best</c>): <see cref="BestCheckpoint"/> and where it is, <see cref="Location"/>: its remote URI
/// (<c>s3://.../step-N</c>) when the remote store holds it, else its local path.
/// </summary>
public sealed record BestCheckpointReport(
    [property: JsonPropertyName("globalStep")] long GlobalStep,
    [property: JsonPropertyName("epoch")] int Epoch,
    [property: JsonPropertyName("metric")] string Metric,
    [property: JsonPropertyName("value")] double Value,
    [property: JsonPropertyName("weights")] string Weights,
    [property: JsonPropertyName("location")] string Location)
{
    /// <summary>The report of <paramref name="best"/> stored at <paramref name="location"/>.</summary>
    public static BestCheckpointReport Of(BestCheckpoint best, string location)
    {
        ArgumentNullException.ThrowIfNull(best);
        return new(best.GlobalStep, best.Epoch, best.Metric, best.Value, best.Weights, location);
    }
}
