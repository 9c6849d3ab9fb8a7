using System.Text.Json.Serialization;

namespace K8sTraining.Contract;

/// <summary>Where a staged run stands: the stage's name, its 0-based index, and how many stages the run has.</summary>
public sealed record StageReport(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("total")] int Total);
