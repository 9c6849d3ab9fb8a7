using System.Text.Json.Serialization;

namespace K8sTraining.Contract;

/// <summary>
/// <c>latest.json</c> (<see cref="CheckpointLayout.LatestFileName"/>): the committed newest checkpoint, every one still
/// kept (newest first), and who committed it: the attempt (the fencing token; null from a trainer without
/// <see cref="TrainerEnvironment.Attempt"/>) and the TrainingJob's uid (null for a standalone trainer).
/// </summary>
public sealed record LatestPointer(
    [property: JsonPropertyName("checkpoint")] string Checkpoint,
    [property: JsonPropertyName("globalStep")] long GlobalStep,
    [property: JsonPropertyName("retained")] IReadOnlyList<string> Retained,
    [property: JsonPropertyName("attempt")] int? Attempt = null,
    [property: JsonPropertyName("jobUid")] string? JobUid = null,
    [property: JsonPropertyName("best")] BestCheckpoint? Best = null);

/// <summary>
/// The best checkpoint so far by <see cref="Metric"/> (one of <see cref="BestMetricNames"/>, measured on the validation
/// split at an epoch end): the checkpoint directory at <see cref="GlobalStep"/>, which retention always keeps, locally and
/// in the remote store. <see cref="Weights"/> says which weights won (<see cref="BestWeightsNames"/>): with <c>ema</c>,
/// load the checkpoint's EMA weights for inference.
/// </summary>
public sealed record BestCheckpoint(
    [property: JsonPropertyName("globalStep")] long GlobalStep,
    [property: JsonPropertyName("epoch")] int Epoch,
    [property: JsonPropertyName("metric")] string Metric,
    [property: JsonPropertyName("value")] double Value,
    [property: JsonPropertyName("weights")] string Weights);

/// <summary><c>owner.json</c> (<see cref="CheckpointLayout.OwnerFileName"/>): the TrainingJob a checkpoint prefix belongs to.</summary>
public sealed record CheckpointOwner(
    [property: JsonPropertyName("uid")] string Uid,
    [property: JsonPropertyName("namespace")] string Namespace,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("createdAt")] DateTimeOffset CreatedAt);

/// <summary>
/// <c>fences/attempt-NNNNNNNNNN.json</c> (<see cref="CheckpointLayout.FenceFileName"/>): attempt <see cref="Attempt"/>
/// of the job <see cref="JobUid"/> started at <see cref="StartedAt"/> (in pod <see cref="Pod"/>); from then on no older
/// attempt of that job uploads, commits or deletes under the prefix.
/// </summary>
public sealed record AttemptFence(
    [property: JsonPropertyName("attempt")] int Attempt,
    [property: JsonPropertyName("jobUid")] string? JobUid,
    [property: JsonPropertyName("pod")] string? Pod,
    [property: JsonPropertyName("startedAt")] DateTimeOffset StartedAt);
