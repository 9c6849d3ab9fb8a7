using System.Security.Cryptography;
using System.Text.Json;
using K8sTraining.Contract;

namespace K8sTraining.Chaos.Storage;

/// <summary>
/// Reads s3rver's data directory as the store's truth: every latest.json must name only checkpoints whose manifest.json
/// exists and whose every listed object is there with its size and SHA-256. A checkpoint named by latest.json that does
/// not verify is a committed checkpoint that is unreadable, or a partial one the protocol exposed.
/// </summary>
public static class BucketAudit
{
    private const string ObjectSuffix = "._S3rver_object";

    /// <summary>The problems found under <paramref name="prefixDirectory"/> (a prefix's folder in the bucket directory).</summary>
    public static IReadOnlyList<string> Check(ChaosS3 s3, string prefix)
    {
        var problems = new List<string>();
        var latestPath = s3.ObjectPath($"{prefix}/{CheckpointLayout.LatestFileName}");
        if (!File.Exists(latestPath))
        {
            return problems;
        }
        LatestPointer? latest;
        try
        {
            latest = JsonSerializer.Deserialize<LatestPointer>(File.ReadAllBytes(latestPath));
        }
        catch (Exception e) when (e is JsonException or IOException)
        {
            return [$"{prefix}/latest.json is unreadable: {e.Message}"];
        }
        if (latest is null)
        {
            return [$"{prefix}/latest.json is empty"];
        }
        foreach (var name in latest.Retained.Append(latest.Checkpoint).Distinct())
        {
            if (Verify(s3, $"{prefix}/{name}") is { } problem)
            {
                problems.Add($"{prefix}/latest.json names {name}, which {problem}");
            }
        }
        return problems;
    }

    /// <summary>Every prefix (folder holding a latest.json) in the bucket, relative to the bucket.</summary>
    public static IReadOnlyList<string> Prefixes(ChaosS3 s3) =>
        Directory.Exists(s3.BucketDirectory)
            ? Directory.GetFiles(s3.BucketDirectory, CheckpointLayout.LatestFileName + ObjectSuffix, SearchOption.AllDirectories)
                .Select(p => Path.GetRelativePath(s3.BucketDirectory, Path.GetDirectoryName(p)!).Replace('\\', '/'))
                .ToList()
            : [];

    private static string? Verify(ChaosS3 s3, string checkpointKey)
    {
        var manifestPath = s3.ObjectPath($"{checkpointKey}/{CheckpointLayout.ManifestFileName}");
        if (!File.Exists(manifestPath))
        {
            return "has no manifest.json";
        }
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(manifestPath));
            if (!doc.RootElement.TryGetProperty("files", out var files) || files.GetArrayLength() == 0)
            {
                return "has a manifest without files";
            }
            foreach (var file in files.EnumerateArray())
            {
                var name = file.GetProperty("name").GetString()!;
                var size = file.GetProperty("size").GetInt64();
                var sha = file.GetProperty("sha256").GetString()!;
                var path = s3.ObjectPath($"{checkpointKey}/{name}");
                if (!File.Exists(path))
                {
                    return $"lacks {name}";
                }
                var bytes = File.ReadAllBytes(path);
                if (bytes.LongLength != size)
                {
                    return $"has {name} of {bytes.LongLength} bytes, the manifest says {size}";
                }
                if (!string.Equals(Convert.ToHexStringLower(SHA256.HashData(bytes)), sha, StringComparison.OrdinalIgnoreCase))
                {
                    return $"has {name} whose SHA-256 differs from the manifest's";
                }
            }
            return null;
        }
        catch (Exception e) when (e is JsonException or IOException or KeyNotFoundException or InvalidOperationException)
        {
            return $"has an unreadable manifest: {e.Message}";
        }
    }
}
