using System.Globalization;

namespace K8sTraining.Contract;

/// <summary>
/// Where checkpoints live, locally and in the remote store: one directory per checkpoint named
/// <c>step-</c> and the global step in 12 digits, committed by its <c>manifest.json</c>; the remote prefix also holds
/// <c>latest.json</c> (the committed newest and those kept) and <c>owner.json</c> (the TrainingJob it belongs to).
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

    /// <summary>In the remote prefix: the committed newest checkpoint and every one still kept.</summary>
    public const string LatestFileName = "latest.json";

    /// <summary>In the remote prefix: the TrainingJob (namespace, name, uid) the prefix belongs to.</summary>
    public const string OwnerFileName = "owner.json";

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
