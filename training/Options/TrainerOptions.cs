namespace K8sTraining.Training.Options;

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

    /// <summary>Classes the model predicts; null: the data set's.</summary>
    public int? NumClasses { get; init; }

    /// <summary>Image channels the model reads (1 or 3); null: the data set's.</summary>
    public int? InChannels { get; init; }

    /// <summary>Square size images are resized to; null: the data set's own.</summary>
    public int? ImageSize { get; init; }

    /// <summary>A ResNet's stem: auto (small for inputs up to 64 px), imagenet (7x7/2 conv and max-pool) or small (3x3/1 conv).</summary>
    public string Stem { get; init; } = K8sTraining.Contract.StemNames.Auto;

    /// <summary>Training images are padded by this many pixels and cropped back at random; 0 = off.</summary>
    public int RandomCropPadding { get; init; }

    /// <summary>Flip half the training images left to right.</summary>
    public bool HorizontalFlip { get; init; }

    /// <summary>Normalise each channel by the training split's mean and standard deviation.</summary>
    public bool Normalize { get; init; } = true;

    /// <summary>The limited mode: at most this many training samples per class; 0 = all.</summary>
    public int MaxSamplesPerClass { get; init; }

    /// <summary>A stratified validation split taken from the training data; 0 = none.</summary>
    public double ValFraction { get; init; }

    /// <summary>none, auto (inverse frequency) or one weight per class, comma-separated.</summary>
    public string ClassWeights { get; init; } = "none";

    /// <summary>One of LossNames.All.</summary>
    public string Loss { get; init; } = K8sTraining.Contract.LossNames.CrossEntropy;

    /// <summary>The focal loss's focusing parameter.</summary>
    public double FocalGamma { get; init; } = 2.0;

    /// <summary>Threads that decode and augment samples.</summary>
    public int LoaderWorkers { get; init; } = 2;

    /// <summary>Batches prepared ahead of the training step.</summary>
    public int PrefetchBatches { get; init; } = 2;

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
