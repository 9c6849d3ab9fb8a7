using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using K8sTraining.Contract;

namespace K8sTraining.Chaos.Storage;

/// <summary>The complete local checkpoints of a directory (step-N with a manifest whose files all verify).</summary>
public static class LocalAudit
{
    /// <summary>Steps of the checkpoints under their final name, each with null when it verifies or the problem.</summary>
    public static IReadOnlyList<(long Step, string? Problem)> Checkpoints(string directory) =>
        Directory.Exists(directory)
            ? Directory.GetDirectories(directory, CheckpointLayout.DirectorySearchPattern)
                .Select(d => (Dir: d, Ok: CheckpointLayout.TryParseDirectoryName(Path.GetFileName(d), out var step), Step: step))
                .Where(x => x.Ok)
                .OrderBy(x => x.Step)
                .Select(x => (x.Step, Verify(x.Dir)))
                .ToList()
            : [];

    public static string? Verify(string checkpoint)
    {
        var manifest = Path.Combine(checkpoint, CheckpointLayout.ManifestFileName);
        if (!File.Exists(manifest))
        {
            return "no manifest.json";
        }
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(manifest));
            foreach (var file in doc.RootElement.GetProperty("files").EnumerateArray())
            {
                var name = file.GetProperty("name").GetString()!;
                var path = Path.Combine(checkpoint, name);
                if (!File.Exists(path))
                {
                    return $"{name} is missing";
                }
                var bytes = File.ReadAllBytes(path);
                if (bytes.LongLength != file.GetProperty("size").GetInt64()
                    || !string.Equals(Convert.ToHexStringLower(SHA256.HashData(bytes)), file.GetProperty("sha256").GetString(), StringComparison.OrdinalIgnoreCase))
                {
                    return $"{name} does not match the manifest";
                }
            }
            return null;
        }
        catch (Exception e) when (e is JsonException or IOException or KeyNotFoundException or InvalidOperationException)
        {
            return $"unreadable manifest: {e.Message}";
        }
    }

    public static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        }
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)), overwrite: true);
        }
    }

    public static string Describe(IEnumerable<(long Step, string? Problem)> checkpoints) =>
        string.Join(", ", checkpoints.Select(c => c.Step.ToString(CultureInfo.InvariantCulture) + (c.Problem is null ? "" : $" ({c.Problem})")));
}
