namespace K8sTraining.Trainer.Options;

/// <summary>Everything the trainer was asked to do, validated at start-up (see OptionsParser for flags and env names).</summary>
public sealed record TrainerOptions
{
    public required string Model { get; init; }
    public required string Dataset { get; init; }
    public string? DataDirectory { get; init; }
    public required int Samples { get; init; }
    public required int Epochs { get; init; }
    public required int BatchSize { get; init; }
    public required double LearningRate { get; init; }
    public required double LearningRateGamma { get; init; }
    public required string Optimizer { get; init; }
    public required long Seed { get; init; }
    public required int Threads { get; init; }
    public string? CheckpointDirectory { get; init; }
    public required int CheckpointEverySteps { get; init; }
    public required int KeepCheckpoints { get; init; }
    public string? Output { get; init; }
    public string? TerminationLog { get; init; }
    public string? CheckpointUri { get; init; }
    public int? MetricsPort { get; init; }
    public required int ShutdownTimeoutSeconds { get; init; }
    public string? LogCsv { get; init; }
    public required int LogEverySteps { get; init; }
    public required string Progress { get; init; }

    /// <summary>The TrainingJob this run belongs to (the operator sets them); standalone runs leave them null.</summary>
    public string? JobNamespace { get; init; }

    public string? JobName { get; init; }

    /// <summary>Set: the --checkpoint-uri prefix is claimed for this uid (owner.json) and refused when another owns it.</summary>
    public string? JobUid { get; init; }

    /// <summary>Take over a prefix another job (or nobody, by owner.json) holds checkpoints in.</summary>
    public bool CheckpointAdopt { get; init; }

    /// <summary>Where the CSV training log goes: --log-csv, else training-log.csv in the checkpoint directory.</summary>
    public string? ResolvedLogCsv => LogCsv ?? (CheckpointDirectory is null ? null : Path.Combine(CheckpointDirectory, "training-log.csv"));
}
