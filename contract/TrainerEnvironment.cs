namespace K8sTraining.Contract;

/// <summary>
/// The environment variables the operator gives a trainer. Every trainer flag may come from the environment as
/// <see cref="Prefix"/> plus the flag name in upper snake case (<see cref="ForFlag"/>); the command line wins.
/// </summary>
public static class TrainerEnvironment
{
    /// <summary>What every trainer variable starts with.</summary>
    public const string Prefix = "TRAINER_";

    /// <summary>--model: one of <see cref="ModelNames.All"/>.</summary>
    public const string Model = Prefix + "MODEL";

    /// <summary>--dataset: one of <see cref="DatasetNames.All"/>.</summary>
    public const string Dataset = Prefix + "DATASET";

    /// <summary>--data: the directory holding the data set files.</summary>
    public const string Data = Prefix + "DATA";

    /// <summary>--samples: size of the synthetic training set.</summary>
    public const string Samples = Prefix + "SAMPLES";

    /// <summary>--epochs: epochs to train.</summary>
    public const string Epochs = Prefix + "EPOCHS";

    /// <summary>--batch-size: samples per step.</summary>
    public const string BatchSize = Prefix + "BATCH_SIZE";

    /// <summary>--lr: the learning rate.</summary>
    public const string LearningRate = Prefix + "LR";

    /// <summary>--optimizer: one of <see cref="OptimizerNames.All"/>.</summary>
    public const string Optimizer = Prefix + "OPTIMIZER";

    /// <summary>--seed: seed for initialisation, data order and every random number.</summary>
    public const string Seed = Prefix + "SEED";

    /// <summary>--checkpoint-dir: the local checkpoint directory.</summary>
    public const string CheckpointDirectory = Prefix + "CHECKPOINT_DIR";

    /// <summary>--checkpoint-uri: the remote checkpoint store, <c>s3://bucket/prefix</c>.</summary>
    public const string CheckpointUri = Prefix + "CHECKPOINT_URI";

    /// <summary>--checkpoint-every-steps: periodic checkpoint interval.</summary>
    public const string CheckpointEverySteps = Prefix + "CHECKPOINT_EVERY_STEPS";

    /// <summary>--keep-checkpoints: how many checkpoints retention keeps.</summary>
    public const string KeepCheckpoints = Prefix + "KEEP_CHECKPOINTS";

    /// <summary>--termination-log: where the <see cref="TerminationMessage"/> goes.</summary>
    public const string TerminationLog = Prefix + "TERMINATION_LOG";

    /// <summary>--metrics-port: the Prometheus /metrics port.</summary>
    public const string MetricsPort = Prefix + "METRICS_PORT";

    /// <summary>--job-namespace: the TrainingJob's namespace (metric label, owner.json).</summary>
    public const string JobNamespace = Prefix + "JOB_NAMESPACE";

    /// <summary>--job-name: the TrainingJob's name (metric label, owner.json).</summary>
    public const string JobName = Prefix + "JOB_NAME";

    /// <summary>--job-uid: the TrainingJob's uid; claims the checkpoint prefix in owner.json.</summary>
    public const string JobUid = Prefix + "JOB_UID";

    /// <summary>--checkpoint-adopt: <c>true</c> to take over a prefix that holds another job's checkpoints.</summary>
    public const string CheckpointAdopt = Prefix + "CHECKPOINT_ADOPT";

    /// <summary>--shutdown-timeout-seconds: budget for the signal checkpoint and its upload.</summary>
    public const string ShutdownTimeoutSeconds = Prefix + "SHUTDOWN_TIMEOUT_SECONDS";

    /// <summary>
    /// The attempt number (1, 2, ...): the fencing token of the checkpoint protocol (a trainer that finds a newer
    /// attempt's fence or commit exits <see cref="TrainerExitCodes.Superseded"/>). Unset: no fencing. Not a flag.
    /// </summary>
    public const string Attempt = Prefix + "ATTEMPT";

    /// <summary>Every variable above that names a trainer flag (all but <see cref="Attempt"/>).</summary>
    public static readonly IReadOnlyList<string> Flags =
    [
        Model, Dataset, Data, Samples, Epochs, BatchSize, LearningRate, Optimizer, Seed, CheckpointDirectory, CheckpointUri,
        CheckpointEverySteps, KeepCheckpoints, TerminationLog, MetricsPort, JobNamespace, JobName, JobUid, CheckpointAdopt,
        ShutdownTimeoutSeconds,
    ];

    /// <summary>Every variable above.</summary>
    public static readonly IReadOnlyList<string> All = [.. Flags, Attempt];

    /// <summary>The variable a flag may come from: <c>--checkpoint-every-steps</c> is <c>TRAINER_CHECKPOINT_EVERY_STEPS</c>.</summary>
    public static string ForFlag(string flag)
    {
        ArgumentNullException.ThrowIfNull(flag);
        return Prefix + flag.TrimStart('-').Replace('-', '_').ToUpperInvariant();
    }
}
