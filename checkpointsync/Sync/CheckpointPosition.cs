using System.Text.Json;

namespace K8sTraining.CheckpointSync.Sync;

/// <summary>Where a checkpoint stands: global step (from its directory name), epoch and step in that epoch.</summary>
public sealed record CheckpointPosition(long GlobalStep, int Epoch, int StepInEpoch)
{
    /// <summary>
    /// The position of the checkpoint at <paramref name="globalStep"/> from its state.json text: its <c>epoch</c> and
    /// <c>stepInEpoch</c> when both are there as non-negative whole numbers, else epoch 0 and step in epoch = the global
    /// step (a trainer that counts no epochs, or an unreadable file).
    /// </summary>
    public static CheckpointPosition FromState(long globalStep, string? stateJson)
    {
        var fallback = new CheckpointPosition(globalStep, 0, (int)Math.Min(globalStep, int.MaxValue));
        if (string.IsNullOrWhiteSpace(stateJson))
        {
            return fallback;
        }
        try
        {
            using var document = JsonDocument.Parse(stateJson);
            var root = document.RootElement;
            return root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("epoch", out var epoch) && epoch.ValueKind == JsonValueKind.Number && epoch.TryGetInt32(out var e) && e >= 0
                && root.TryGetProperty("stepInEpoch", out var inEpoch) && inEpoch.ValueKind == JsonValueKind.Number && inEpoch.TryGetInt32(out var s) && s >= 0
                ? new CheckpointPosition(globalStep, e, s)
                : fallback;
        }
        catch (JsonException)
        {
            return fallback;
        }
    }

    /// <summary>The position of the complete checkpoint directory <paramref name="directory"/> (its state.json, when readable).</summary>
    public static CheckpointPosition Read(string directory, long globalStep)
    {
        string? text = null;
        try
        {
            var path = Path.Combine(directory, K8sTraining.Contract.CheckpointLayout.StateFileName);
            text = File.Exists(path) ? File.ReadAllText(path) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return FromState(globalStep, text);
    }
}
