using System.Globalization;

namespace K8sTraining.Contract;

/// <summary>
/// Where checkpoints live, locally and in the remote store: one directory per checkpoint named
/// <c>step-</c> and the global step in 12 digits, committed by its <c>manifest.json</c>; the remote prefix also holds
/// <c>latest.json</c> (the committed newest and those kept, and the attempt that committed it), <c>owner.json</c> (the
/// TrainingJob it belongs to) and <c>fences/attempt-NNNNNNNNNN.json</c> (one per attempt that started, the fencing
/// tokens). The documents are <see cref="LatestPointer"/>, <see cref="CheckpointOwner"/> and <see cref="AttemptFence"/>.
/// </summary>
public static class CheckpointLayout
{
    /// <summary>The scheme of a remote checkpoint store's URI (<c>s3://bucket/prefix</c>, any S3-compatible store).</summary>
    public const string RemoteScheme = "s3://";

    /// <summary>What every checkpoint directory's name starts with.</summary>
    public const string DirectoryPrefix = "step-";

    /// <summary>How many digits the global step has in a directory name (zero-padded).</summary>
    public const int StepDigits = 12;

    /// <summary>A file-system search pattern that matches every checkpoint directory (and temporaries beside them).</summary>
    public const string DirectorySearchPattern = DirectoryPrefix + "*";

    /// <summary>Written last into a checkpoint directory: its files' sizes and sha256; without it the checkpoint is not committed.</summary>
    public const string ManifestFileName = "manifest.json";

    /// <summary>
    /// In a checkpoint directory: the trainer's position, a JSON object with at least <c>globalStep</c>, <c>epoch</c> and
    /// <c>stepInEpoch</c> (the built-in trainer's holds more). The checkpoint-sync sidecar reads the position from it;
    /// without it (or those fields) a checkpoint counts as epoch 0, step in epoch = its global step.
    /// </summary>
    public const string StateFileName = "state.json";

    /// <summary>In the remote prefix: the committed newest checkpoint and every one still kept.</summary>
    public const string LatestFileName = "latest.json";

    /// <summary>In the remote prefix: the TrainingJob (namespace, name, uid) the prefix belongs to.</summary>
    public const string OwnerFileName = "owner.json";

    /// <summary>
    /// In the remote prefix: the folder of fence objects, one per attempt that started (<see cref="FenceFileName"/>).
    /// Each is written once, by its own attempt, before its first upload; never overwritten by another, never deleted.
    /// </summary>
    public const string FenceFolderName = "fences";

    /// <summary>What every fence object's name starts with.</summary>
    public const string FenceFilePrefix = "attempt-";

    /// <summary>What every fence object's name ends with.</summary>
    public const string FenceFileSuffix = ".json";

    /// <summary>How many digits the attempt has in a fence object's name (zero-padded, so names sort by attempt).</summary>
    public const int AttemptDigits = 10;

    /// <summary>
    /// S3 user metadata on every object a fenced trainer uploads: the attempt that wrote it (sent as
    /// <c>x-amz-meta-k8straining-attempt</c>), so anyone can tell a zombie's objects from the current attempt's.
    /// </summary>
    public const string AttemptMetadataName = "k8straining-attempt";

    private static readonly string AttemptFormat = "D" + AttemptDigits.ToString(CultureInfo.InvariantCulture);

    /// <summary>The fence object of <paramref name="attempt"/> inside <see cref="FenceFolderName"/>: <c>attempt-0000000002.json</c>.</summary>
    public static string FenceFileName(int attempt) => FenceFilePrefix + attempt.ToString(AttemptFormat, CultureInfo.InvariantCulture) + FenceFileSuffix;

    /// <summary>Reads the attempt from a fence object's name (without its folder); false for anything else.</summary>
    public static bool TryParseFenceFileName(string? name, out int attempt)
    {
        attempt = -1;
        return name is not null
            && name.Length == FenceFilePrefix.Length + AttemptDigits + FenceFileSuffix.Length
            && name.StartsWith(FenceFilePrefix, StringComparison.Ordinal)
            && name.EndsWith(FenceFileSuffix, StringComparison.Ordinal)
            && int.TryParse(name.AsSpan(FenceFilePrefix.Length, AttemptDigits), NumberStyles.None, CultureInfo.InvariantCulture, out attempt);
    }

    private static readonly string StepFormat = "D" + StepDigits.ToString(CultureInfo.InvariantCulture);

    /// <summary>The directory name of the checkpoint at <paramref name="globalStep"/>: <c>step-000000000042</c>.</summary>
    public static string DirectoryName(long globalStep) => DirectoryPrefix + globalStep.ToString(StepFormat, CultureInfo.InvariantCulture);

    /// <summary>Reads the global step from a checkpoint directory name; false for anything else (temporaries included).</summary>
    public static bool TryParseDirectoryName(string? name, out long globalStep)
    {
        globalStep = -1;
        return name is not null
            && name.Length == DirectoryPrefix.Length + StepDigits
            && name.StartsWith(DirectoryPrefix, StringComparison.Ordinal)
            && long.TryParse(name.AsSpan(DirectoryPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out globalStep);
    }

    /// <summary>
    /// Where the checkpoint at <paramref name="globalStep"/> lives under <paramref name="root"/> (a remote URI such as
    /// <c>s3://bucket/prefix</c>, or a local directory): <c>{root}/step-000000000042</c>.
    /// </summary>
    public static string Location(string root, long globalStep)
    {
        ArgumentNullException.ThrowIfNull(root);
        return $"{root.TrimEnd('/')}/{DirectoryName(globalStep)}";
    }

    /// <summary>True when <paramref name="location"/> is in the remote store (survives the pod), not a local path.</summary>
    public static bool IsRemote(string? location) => location?.StartsWith(RemoteScheme, StringComparison.Ordinal) == true;

    /// <summary>
    /// Reads the global step from a checkpoint location (URI or path) whose last segment is a checkpoint directory name,
    /// as <see cref="Location"/> builds it; false otherwise.
    /// </summary>
    public static bool TryParseLocation(string? location, out long globalStep)
    {
        globalStep = -1;
        if (string.IsNullOrEmpty(location))
        {
            return false;
        }

        var trimmed = location.TrimEnd('/');
        var name = trimmed[(trimmed.LastIndexOfAny(['/', '\\']) + 1)..];
        return TryParseDirectoryName(name, out globalStep);
    }
}
