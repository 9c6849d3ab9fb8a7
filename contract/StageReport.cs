using System.Text.Json.Serialization;

namespace K8sTraining.Contract;

/// <summary>The stage a staged run is in: its name, its 0-based index and the number of stages.</summary>
public sealed record StageReport(
    [property: JsonPropertyName("name")] string? Name,
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("total")] int Total);
