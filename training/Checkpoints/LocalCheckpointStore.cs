using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using K8sTraining.Contract;
using K8sTraining.Training.Options;
using Microsoft.Extensions.Logging;

namespace K8sTraining.Training.Checkpoints;

/// <summary>
/// Checkpoints in a local directory, crash-safe: files go to a temporary directory and are fsynced, the manifest (with a
/// sha256 of every file) is written last, then the directory is renamed into place and its parent fsynced. SIGKILL at any
/// instant leaves either a complete checkpoint or one that <see cref="FindNewestValid"/> skips. Retention keeps the
/// newest K valid checkpoints (always the newest valid one and the one just committed), and the best checkpoint named by
/// the newest one's manifest (<see cref="CheckpointManifest.Best"/>) however old; it moves invalid ones aside.
/// </summary>
public sealed partial class LocalCheckpointStore(string root, int keep, ILogger logger)
{
    private const string TempMarker = ".tmp-";

    /// <summary>Where retention moves step directories that do not verify: kept for inspection, never counted.</summary>
    public const string InvalidFolderName = ".invalid";

    // Directories verified in this process (written here, or read and hashed once): retention does not hash them again.
    private readonly ConcurrentDictionary<string, bool> _verified = new(StringComparer.Ordinal);

    /// <summary>Test-only: milliseconds to pause between a checkpoint's files, so a test can SIGKILL mid-write.</summary>
    internal const string WriteDelayEnvironmentVariable = "K8STRAINING_TEST_CHECKPOINT_WRITE_DELAY_MS";

    private readonly int _writeDelayMs = int.TryParse(Environment.GetEnvironmentVariable(WriteDelayEnvironmentVariable), NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms) ? ms : 0;

    public string Root { get; } = root;

    /// <summary>
    /// Checks at start-up that checkpoints can be written under <see cref="Root"/>; throws
    /// <see cref="InvalidInputException"/> (exit 2) naming the directory and the fix when it is a file, not a directory,
    /// or not writable. Other I/O errors (a full disk) are not the user's configuration and propagate as they are.
    /// </summary>
    public void EnsureUsable() => EnsureUsable(Root);

    /// <inheritdoc cref="EnsureUsable()"/>
    public static void EnsureUsable(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        const string Fix = $"give --checkpoint-dir ({TrainerEnvironment.CheckpointDirectory}) a writable directory; in Kubernetes, mount a writable volume (an emptyDir) there";
        if (File.Exists(directory))
        {
            throw new InvalidInputException($"--checkpoint-dir {directory} is a file, not a directory: remove or move the file, or {Fix}.");
        }
        var probe = Path.Combine(directory, $".write-probe-{Environment.ProcessId}");
        try
        {
            Directory.CreateDirectory(directory);
            using (new FileStream(probe, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
            {
            }
        }
        catch (UnauthorizedAccessException e)
        {
            throw new InvalidInputException($"--checkpoint-dir {directory} is not writable ({e.Message}): fix its permissions for user {Environment.UserName}, or {Fix}.", e);
        }
        catch (IOException e) when (IoErrors.IsReadOnlyFileSystem(e) || IoErrors.IsNotADirectory(e))
        {
            var why = IoErrors.IsReadOnlyFileSystem(e) ? "is on a read-only file system" : "has a file where a parent directory should be";
            throw new InvalidInputException($"--checkpoint-dir {directory} {why} ({e.Message}): {Fix}.", e);
        }
    }

    /// <summary>Removes leftovers of writes that a crash interrupted.</summary>
    public void RemoveIncompleteWrites()
    {
        if (!Directory.Exists(Root))
        {
            return;
        }
        foreach (var dir in Directory.EnumerateDirectories(Root, CheckpointLayout.DirectorySearchPattern + TempMarker + "*"))
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
        var name = CheckpointLayout.DirectoryName(snapshot.GlobalStep);
        var final = Path.Combine(Root, name);
        var temp = Path.Combine(Root, name + TempMarker + Guid.NewGuid().ToString("N")[..8]);
        CheckpointManifest manifest;
        try
        {
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
            manifest = new CheckpointManifest(CheckpointManifest.CurrentFormatVersion, snapshot.GlobalStep, snapshot.Epoch, snapshot.StepInEpoch, DateTimeOffset.UtcNow, entries, snapshot.Best);
            WriteDurably(Path.Combine(temp, CheckpointLayout.ManifestFileName), Encoding.UTF8.GetBytes(manifest.ToJson()));
            FsyncDirectory(temp);
            if (Directory.Exists(final))
            {
                // Same step written again (e.g. resumed at a checkpoint and stopped before any step, or a broken
                // checkpoint of this step): the new one replaces it.
                Directory.Delete(final, recursive: true);
            }
            Directory.Move(temp, final);
        }
        catch
        {
            // A failed write (a full disk) must not leave its partial files filling the disk further.
            DeleteQuietly(temp);
            throw;
        }
        FsyncDirectory(Root);
        _verified[name] = true;
        ApplyRetention(name, manifest.Best);
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
                _verified[Path.GetFileName(dir)] = true;
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
        var manifestPath = Path.Combine(dir, CheckpointLayout.ManifestFileName);
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
        if (Path.GetFileName(dir) != CheckpointLayout.DirectoryName(manifest.GlobalStep))
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
        return Directory.EnumerateDirectories(Root, CheckpointLayout.DirectorySearchPattern)
            .Where(d => CheckpointLayout.TryParseDirectoryName(Path.GetFileName(d), out _))
            .OrderByDescending(d => Path.GetFileName(d), StringComparer.Ordinal);
    }

    /// <summary>
    /// Keeps the newest <c>keep</c> valid checkpoints, always <paramref name="justCommitted"/>, and the best checkpoint
    /// named by the newest valid one's manifest (and by <paramref name="justCommittedBest"/>), however old: the best is a
    /// checkpoint a user loads for inference, so no window of K may push it out. A step directory that does not verify
    /// (no manifest, a manifest naming another step, damaged files) is moved aside with a warning and never counted, so
    /// it can never push a valid checkpoint out.
    /// </summary>
    private void ApplyRetention(string justCommitted, BestCheckpoint? justCommittedBest)
    {
        var valid = new List<string>();
        foreach (var dir in CommittedDirectoriesNewestFirst())
        {
            var name = Path.GetFileName(dir);
            if (name == justCommitted || _verified.ContainsKey(name))
            {
                valid.Add(dir);
                continue;
            }
            var problem = Verify(dir, out _);
            if (problem is null)
            {
                _verified[name] = true;
                valid.Add(dir);
            }
            else
            {
                MoveAside(dir, problem);
            }
        }
        var window = valid.Take(keep).Select(Path.GetFileName).Append(justCommitted).ToHashSet(StringComparer.Ordinal);
        var kept = new HashSet<string>(window!, StringComparer.Ordinal);
        foreach (var best in new[] { justCommittedBest, valid.Count > 0 && Path.GetFileName(valid[0]) != justCommitted ? BestOf(valid[0]) : null })
        {
            if (best is not null)
            {
                kept.Add(CheckpointLayout.DirectoryName(best.GlobalStep));
            }
        }
        foreach (var dir in valid.Where(d => !kept.Contains(Path.GetFileName(d))))
        {
            _verified.TryRemove(Path.GetFileName(dir)!, out _);
            Directory.Delete(dir, recursive: true);
        }
        PruneMovedAside(window.Min(StringComparer.Ordinal)!);
    }

    /// <summary>The best named by the (verified) checkpoint in <paramref name="dir"/>; null when none or unreadable.</summary>
    private static BestCheckpoint? BestOf(string dir)
    {
        try
        {
            return CheckpointManifest.Parse(File.ReadAllText(Path.Combine(dir, CheckpointLayout.ManifestFileName)))?.Best;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private void MoveAside(string dir, string problem)
    {
        var aside = Path.Combine(Root, InvalidFolderName, Path.GetFileName(dir));
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(aside)!);
            DeleteQuietly(aside);
            Directory.Move(dir, aside);
            LogMovedAside(logger, dir, problem, aside);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogNotMovedAside(logger, dir, problem, e.Message);
        }
    }

    // What was moved aside goes once the retained window has moved past it: kept for inspection, never forever.
    private void PruneMovedAside(string oldestKept)
    {
        var folder = Path.Combine(Root, InvalidFolderName);
        if (!Directory.Exists(folder))
        {
            return;
        }
        foreach (var dir in Directory.EnumerateDirectories(folder).Where(d => string.CompareOrdinal(Path.GetFileName(d), oldestKept) < 0))
        {
            DeleteQuietly(dir);
        }
    }

    private static void DeleteQuietly(string dir)
    {
        try
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: what is left is never read as a checkpoint (wrong name or no manifest).
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Checkpoint {Directory} is not valid ({Problem}); moved aside to {Aside}, retention does not count it")]
    private static partial void LogMovedAside(ILogger logger, string directory, string problem, string aside);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Checkpoint {Directory} is not valid ({Problem}) and could not be moved aside ({Reason}); retention does not count it")]
    private static partial void LogNotMovedAside(ILogger logger, string directory, string problem, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Removing incomplete checkpoint write {Directory}")]
    private static partial void LogRemovingIncomplete(ILogger logger, string directory);
}
