using System.Text.Json;
using System.Text.Json.Serialization;
using K8sTraining.Contract;

namespace K8sTraining.Training.Stages;

/// <summary>What a stage's best/ or last/ weights are (stage.json beside them).</summary>
public sealed record StageArtifactInfo(
    [property: JsonPropertyName("stage")] string Stage,
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("epoch")] int Epoch,
    [property: JsonPropertyName("globalStep")] long GlobalStep,
    [property: JsonPropertyName("best")] BestCheckpoint? Best);

/// <summary>
/// Each stage's weights as named artefacts in the checkpoint directory: <c>stages/NAME/best/</c> (rewritten when the
/// stage's best epoch improves) and <c>stages/NAME/last/</c> (at the stage's end), each with model.bin, ema.bin with an
/// EMA, and stage.json. They are artefacts, not checkpoints: never inside a step-N directory, synced to
/// <c>{prefix}/artifacts/stages/...</c> with the plots and logs.
/// </summary>
public static class StageArtifacts
{
    /// <summary>The folder of one stage's best or last weights, relative to the checkpoint directory ('/' separators).</summary>
    public static string Folder(string stage, string which) => $"{ArtifactLayout.StagesFolderName}/{stage}/{which}";

    /// <summary>Writes the files (name, bytes) into <c>stages/NAME/WHICH/</c> under <paramref name="root"/>, each atomically.</summary>
    public static void Write(string root, string stage, string which, IReadOnlyList<(string Name, byte[] Bytes)> files, StageArtifactInfo info)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(files);
        var folder = Path.Combine(root, Folder(stage, which));
        Directory.CreateDirectory(folder);
        foreach (var (name, bytes) in files.Append((ArtifactLayout.StageInfoFileName, JsonSerializer.SerializeToUtf8Bytes(info, new JsonSerializerOptions { WriteIndented = true }))))
        {
            var path = Path.Combine(folder, name);
            var temp = Path.Combine(folder, $".{name}.tmp-{Environment.ProcessId}");
            File.WriteAllBytes(temp, bytes);
            File.Move(temp, path, overwrite: true);
        }
    }

    /// <summary>The stage artefacts present under <paramref name="root"/>, relative to it, in order (for the artifact sync).</summary>
    public static IReadOnlyList<string> LocalFiles(string root)
    {
        ArgumentNullException.ThrowIfNull(root);
        var stages = Path.Combine(root, ArtifactLayout.StagesFolderName);
        if (!Directory.Exists(stages))
        {
            return [];
        }
        var found = new List<string>();
        foreach (var stage in Directory.EnumerateDirectories(stages).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal))
        {
            foreach (var which in new[] { ArtifactLayout.StageBestFolderName, ArtifactLayout.StageLastFolderName })
            {
                var folder = Path.Combine(stages, stage, which);
                if (Directory.Exists(folder))
                {
                    found.AddRange(Directory.EnumerateFiles(folder).Select(Path.GetFileName).OfType<string>()
                        .Where(n => !n.StartsWith('.')).Order(StringComparer.Ordinal).Select(n => $"{Folder(stage, which)}/{n}"));
                }
            }
        }
        return found;
    }

    /// <summary>True when <paramref name="relative"/> (from a remote key) is a stage artefact: stages/NAME/best|last/FILE, without path tricks.</summary>
    public static bool IsArtifact(string relative)
    {
        ArgumentNullException.ThrowIfNull(relative);
        var parts = relative.Split('/');
        return parts.Length == 4 && parts[0] == ArtifactLayout.StagesFolderName
            && parts[1].Length > 0 && !parts[1].StartsWith('.') && parts[1].IndexOfAny(['\\', ':']) < 0
            && (parts[2] == ArtifactLayout.StageBestFolderName || parts[2] == ArtifactLayout.StageLastFolderName)
            && parts[3].Length > 0 && !parts[3].StartsWith('.') && parts[3].IndexOfAny(['\\', ':']) < 0;
    }
}
