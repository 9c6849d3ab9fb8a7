using System.Globalization;
using K8sTraining.Contract;
using K8sTraining.Training.Storage;

namespace K8sTraining.CheckpointSync.Options;

/// <summary>What the sidecar syncs, where to, and how long it may take on shutdown; read from the TRAINER_* environment.</summary>
public sealed record CheckpointSyncOptions
{
    /// <summary>The trainer's default retention, which the sidecar applies remotely.</summary>
    public const int DefaultKeep = 3;

    /// <summary>The trainer's default shutdown budget.</summary>
    public const int DefaultShutdownTimeoutSeconds = 25;

    /// <summary>The shared local checkpoint directory (an emptyDir both containers mount).</summary>
    public required string CheckpointDirectory { get; init; }

    /// <summary>The remote store, <c>s3://bucket/prefix</c>.</summary>
    public required string CheckpointUri { get; init; }

    /// <summary>Checkpoints kept remotely.</summary>
    public required int Keep { get; init; }

    /// <summary>The flush budget after SIGTERM.</summary>
    public required TimeSpan ShutdownTimeout { get; init; }

    /// <summary>The /metrics port; 0 serves none.</summary>
    public required int MetricsPort { get; init; }

    /// <summary>Where the termination message goes; null for none.</summary>
    public string? TerminationLog { get; init; }

    public string? JobNamespace { get; init; }

    public string? JobName { get; init; }

    /// <summary>The TrainingJob's uid: the owner claim (owner.json); null for no ownership check.</summary>
    public CheckpointOwnerClaim? Owner { get; init; }

    /// <summary>How often the checkpoint directory is listed (the file-system watcher only wakes the loop sooner).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Reads the options; throws <see cref="CheckpointSyncConfigurationException"/> naming the variable and the fix.
    /// TRAINER_ATTEMPT and the AWS_* variables are the store's to read (<see cref="S3StoreOptions.FromEnvironment"/>).
    /// </summary>
    public static CheckpointSyncOptions FromEnvironment(Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        string? Get(string name) => environment(name) is { } v && v.Trim().Length > 0 ? v.Trim() : null;

        var directory = Get(TrainerEnvironment.CheckpointDirectory)
            ?? throw new CheckpointSyncConfigurationException($"{TrainerEnvironment.CheckpointDirectory} is not set: give the checkpoint directory the trainer writes step-NNNNNNNNNNNN directories into (the volume both containers mount).");
        if (!Path.IsPathFullyQualified(directory))
        {
            throw new CheckpointSyncConfigurationException($"{TrainerEnvironment.CheckpointDirectory} '{directory}' is not an absolute path: give the mount path of the shared checkpoint volume, e.g. /checkpoints.");
        }
        var uri = Get(TrainerEnvironment.CheckpointUri)
            ?? throw new CheckpointSyncConfigurationException($"{TrainerEnvironment.CheckpointUri} is not set: the sidecar needs the remote store, s3://bucket/prefix (spec.checkpoint.uri).");
        var uid = Get(TrainerEnvironment.JobUid);
        var ns = Get(TrainerEnvironment.JobNamespace);
        var name = Get(TrainerEnvironment.JobName);
        var adopt = Boolean(Get(TrainerEnvironment.CheckpointAdopt), TrainerEnvironment.CheckpointAdopt);
        if (adopt && uid is null)
        {
            throw new CheckpointSyncConfigurationException($"{TrainerEnvironment.CheckpointAdopt} is true but {TrainerEnvironment.JobUid} is not set: adopting a prefix claims it for a job; set the job's uid.");
        }
        return new CheckpointSyncOptions
        {
            CheckpointDirectory = Path.GetFullPath(directory),
            CheckpointUri = uri,
            Keep = Integer(Get(TrainerEnvironment.KeepCheckpoints), TrainerEnvironment.KeepCheckpoints, DefaultKeep, 1, 10_000),
            ShutdownTimeout = TimeSpan.FromSeconds(Integer(Get(TrainerEnvironment.ShutdownTimeoutSeconds), TrainerEnvironment.ShutdownTimeoutSeconds, DefaultShutdownTimeoutSeconds, 1, 3600)),
            MetricsPort = Integer(Get(TrainerEnvironment.MetricsPort), TrainerEnvironment.MetricsPort, CheckpointSyncContract.DefaultMetricsPort, 0, 65_535),
            TerminationLog = Get(TrainerEnvironment.TerminationLog),
            JobNamespace = ns,
            JobName = name,
            Owner = uid is null ? null : new CheckpointOwnerClaim(uid, ns, name, adopt),
        };
    }

    private static int Integer(string? value, string name, int fallback, int min, int max)
    {
        if (value is null)
        {
            return fallback;
        }
        return int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n
            : throw new CheckpointSyncConfigurationException($"{name} '{value}' is not a whole number from {min} to {max}; unset it for the default {fallback}.");
    }

    private static bool Boolean(string? value, string name) => value?.ToLowerInvariant() switch
    {
        null or "false" => false,
        "true" => true,
        _ => throw new CheckpointSyncConfigurationException($"{name} '{value}' is not true or false."),
    };
}

/// <summary>The sidecar's configuration cannot be used: exit 2 with this message.</summary>
public sealed class CheckpointSyncConfigurationException(string message) : Exception(message);
