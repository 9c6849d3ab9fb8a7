using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;

namespace K8sTraining.Trainer.Checkpoints;

/// <summary>
/// Checkpoints in a local directory, crash-safe: files go to a temporary directory and are fsynced, the manifest (with a
/// sha256 of every file) is written last, then the directory is renamed into place and its parent fsynced. SIGKILL at any
/// instant leaves either a complete checkpoint or one that <see cref="FindNewestValid"/> skips.
/// </summary>
public sealed partial class LocalCheckpointStore(string root, int keep, ILogger logger)
{
    private const string StepPrefix = "step-";
    private const string TempMarker = ".tmp-";

    /// <summary>Test-only: milliseconds to pause between a checkpoint's files, so a test can SIGKILL mid-write.</summary>
    internal const string WriteDelayEnvironmentVariable = "K8STRAINING_TEST_CHECKPOINT_WRITE_DELAY_MS";

    private readonly int _writeDelayMs = int.TryParse(Environment.GetEnvironmentVariable(WriteDelayEnvironmentVariable), NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms) ? ms : 0;

    public string Root { get; } = root;

    /// <summary>Removes leftovers of writes that a crash interrupted.</summary>
    public void RemoveIncompleteWrites()
    {
        if (!Directory.Exists(Root))
        {
            return;
        }
        foreach (var dir in Directory.EnumerateDirectories(Root, StepPrefix + "*" + TempMarker + "*"))
        {
            LogRemovingIncomplete(logger, dir);
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Writes <paramref name="snapshot"/> atomically and applies retention; returns the committed checkpoint.</summary>
    public LocalCheckpoint Write(CheckpointSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        Directory.CreateDirectory(Root);
        var name = CheckpointManifest.DirectoryName(snapshot.GlobalStep);
        var final = Path.Combine(Root, name);
        var temp = Path.Combine(Root, name + TempMarker + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(temp);
        var entries = new List<CheckpointFileEntry>();
        foreach (var (fileName, content) in snapshot.Files)
        {
            WriteDurably(Path.Combine(temp, fileName), content);
            entries.Add(new CheckpointFileEntry(fileName, content.Length, Convert.ToHexStringLower(SHA256.HashData(content))));
            if (_writeDelayMs > 0)
            {
                Thread.Sleep(_writeDelayMs);
            }
        }
        var manifest = new CheckpointManifest(CheckpointManifest.CurrentFormatVersion, snapshot.GlobalStep, snapshot.Epoch, snapshot.StepInEpoch, DateTimeOffset.UtcNow, entries);
        WriteDurably(Path.Combine(temp, CheckpointManifest.FileName), Encoding.UTF8.GetBytes(manifest.ToJson()));
        FsyncDirectory(temp);
        if (Directory.Exists(final))
        {
            // Same step written again (e.g. resumed at a checkpoint and stopped before any step): the new one is identical.
            Directory.Delete(final, recursive: true);
        }
        Directory.Move(temp, final);
        FsyncDirectory(Root);
        ApplyRetention();
        return new LocalCheckpoint(final, manifest);
    }

    /// <summary>The newest checkpoint whose manifest and files verify; newer broken ones are reported and skipped.</summary>
    public LocalCheckpoint? FindNewestValid()
    {
        foreach (var dir in CommittedDirectoriesNewestFirst())
        {
            var problem = Verify(dir, out var manifest);
            if (problem is null)
            {
                return new LocalCheckpoint(dir, manifest!);
            }
            LogSkippingInvalid(logger, dir, problem);
        }
        return null;
    }

    /// <summary>Null when the checkpoint in <paramref name="dir"/> is complete and intact, else what is wrong.</summary>
    public static string? Verify(string dir, out CheckpointManifest? manifest)
    {
        manifest = null;
        var manifestPath = Path.Combine(dir, CheckpointManifest.FileName);
        if (!File.Exists(manifestPath))
        {
            return "manifest.json is missing (the write did not finish)";
        }
        try
        {
            manifest = CheckpointManifest.Parse(File.ReadAllText(manifestPath));
        }
        catch (System.Text.Json.JsonException e)
        {
            return $"manifest.json is unreadable: {e.Message}";
        }
        if (manifest is null || manifest.FormatVersion != CheckpointManifest.CurrentFormatVersion || manifest.Files is null)
        {
            return "manifest.json has an unknown format";
        }
        if (Path.GetFileName(dir) != CheckpointManifest.DirectoryName(manifest.GlobalStep))
        {
            return $"manifest.json names global step {manifest.GlobalStep}, not this directory";
        }
        foreach (var entry in manifest.Files)
        {
            var path = Path.Combine(dir, entry.Name);
            if (!File.Exists(path))
            {
                return $"{entry.Name} is missing";
            }
            var content = File.ReadAllBytes(path);
            if (content.Length != entry.Size)
            {
                return $"{entry.Name} has {content.Length} bytes, the manifest says {entry.Size}";
            }
            if (!string.Equals(Convert.ToHexStringLower(SHA256.HashData(content)), entry.Sha256, StringComparison.Ordinal))
            {
                return $"{entry.Name} does not match its sha256";
            }
        }
        return null;
    }

    private IEnumerable<string> CommittedDirectoriesNewestFirst()
    {
        if (!Directory.Exists(Root))
        {
            return [];
        }
        return Directory.EnumerateDirectories(Root, StepPrefix + "*")
            .Where(d => Path.GetFileName(d).Length == StepPrefix.Length + 12 && long.TryParse(Path.GetFileName(d).AsSpan(StepPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out _))
            .OrderByDescending(d => Path.GetFileName(d), StringComparer.Ordinal);
    }

    private void ApplyRetention()
    {
        foreach (var dir in CommittedDirectoriesNewestFirst().Skip(keep))
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void WriteDurably(string path, byte[] content)
    {
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16);
        stream.Write(content);
        stream.Flush(flushToDisk: true);
    }

    private static void FsyncDirectory(string dir) => FileSync.FsyncDirectory(dir);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Checkpoint {Directory} is not usable ({Problem}); trying the previous one")]
    private static partial void LogSkippingInvalid(ILogger logger, string directory, string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "Removing incomplete checkpoint write {Directory}")]
    private static partial void LogRemovingIncomplete(ILogger logger, string directory);
}
