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
    /// <summary><see cref="K8sTraining.Contract.CheckpointWriteModes"/>: periodic checkpoints in the background or in the loop.</summary>
    public string CheckpointWrite { get; init; } = K8sTraining.Contract.CheckpointWriteModes.Background;

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

    /// <summary>The cnn's first convolution's output channels (the second has twice as many); null: not given, the cnn's 16.</summary>
    public int? CnnChannels { get; init; }

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

    /// <summary>One of SchedulerNames.All; step with step size one epoch and gamma --lr-gamma is the classic per-epoch decay.</summary>
    public string Scheduler { get; init; } = K8sTraining.Contract.SchedulerNames.Step;

    /// <summary>Linear warmup over this many optimizer steps (resolved from --warmup-epochs when that was given).</summary>
    public int WarmupSteps { get; init; }

    /// <summary>--warmup-epochs as given (resolved into optimizer steps once the data is known); null: --warmup-steps.</summary>
    public double? WarmupEpochs { get; init; }

    /// <summary>Where cosine and linear end.</summary>
    public double MinLearningRate { get; init; }

    /// <summary>step: optimizer steps between decays; null: one epoch.</summary>
    public int? StepSize { get; init; }

    /// <summary>multistep: the epochs at whose start the learning rate is multiplied by gamma.</summary>
    public IReadOnlyList<int> Milestones { get; init; } = [];

    /// <summary>OneCycle: the fraction of steps spent rising, the initial and final divisors, the momentum range.</summary>
    public double OneCyclePctStart { get; init; } = 0.3;

    public double OneCycleDivFactor { get; init; } = 25;

    public double OneCycleFinalDivFactor { get; init; } = 1e4;

    public double BaseMomentum { get; init; } = 0.85;

    public double MaxMomentum { get; init; } = 0.95;

    /// <summary>SGD momentum, or AdamW's beta1.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>SGD only: Nesterov momentum.</summary>
    public bool Nesterov { get; init; }

    /// <summary>Weight decay (decoupled for AdamW); 0 by default, as TorchSharp's optimizers.</summary>
    public double WeightDecay { get; init; }

    /// <summary>Gradients are clipped to this total L2 norm before each optimizer step; 0 = off.</summary>
    public double GradClipNorm { get; init; }

    /// <summary>Batches whose gradients are summed into one optimizer step.</summary>
    public int GradAccumulationSteps { get; init; } = 1;

    /// <summary>--lr auto: an LR finder sweep chooses the (maximum) learning rate before the first step.</summary>
    public bool LearningRateAuto { get; init; }

    /// <summary>The LR finder's sweep: optimizer steps, first and last learning rate.</summary>
    public int LrFindSteps { get; init; } = 100;

    public double LrFindStart { get; init; } = 1e-7;

    public double LrFindEnd { get; init; } = 10;

    /// <summary>How the sweep's curve becomes the suggestion (<see cref="K8sTraining.Contract.LrFinderRuleNames"/>).</summary>
    public string LrFindRule { get; init; } = K8sTraining.Contract.LrFinderRuleNames.Steepest;

    /// <summary>Mixup's Beta(alpha, alpha); 0 = off.</summary>
    public double MixupAlpha { get; init; }

    /// <summary>CutMix's Beta(alpha, alpha); 0 = off.</summary>
    public double CutMixAlpha { get; init; }

    /// <summary>The chance a batch is mixed when mixing is on.</summary>
    public double MixProbability { get; init; } = 1;

    /// <summary>Mixing is off for the last epochs: a whole number N (N epochs) or a fraction below 1 (of --epochs); 0 = never off.</summary>
    public double MixOffLastEpochs { get; init; }

    /// <summary>Label smoothing epsilon, applied to unmixed batches (see LabelSmoothingRule); 0 = off.</summary>
    public double LabelSmoothing { get; init; }

    /// <summary>Decay of the exponential moving average of the weights; 0 = no EMA.</summary>
    public double EmaDecay { get; init; }

    /// <summary>Parameters whose names start with one of these prefixes are frozen (not trained).</summary>
    public IReadOnlyList<string> Freeze { get; init; } = [];

    /// <summary>Resume from a checkpoint trained with another learning rate, schedule or optimizer settings (Resume.ResumeChanges).</summary>
    public bool Reconfigure { get; init; }

    /// <summary>On a resume with another batch size, scale the learning rate by new/old (kept in the checkpoint).</summary>
    public bool ScaleLrWithBatch { get; init; }

    /// <summary>One of BestMetricNames.All; null: val-accuracy when there is a validation split, else none.</summary>
    public string? BestMetric { get; init; }

    /// <summary>One of BestWeightsNames.All; null: ema with --ema-decay, else raw.</summary>
    public string? BestWeights { get; init; }

    /// <summary>The weights the best checkpoint is chosen among, resolved.</summary>
    public string ResolvedBestWeights => BestWeights ?? (EmaDecay > 0 ? K8sTraining.Contract.BestWeightsNames.Ema : K8sTraining.Contract.BestWeightsNames.Raw);

    /// <summary>How many of the last epochs train without mixing, resolved against --epochs.</summary>
    public int ResolvedMixOffEpochs => MixOffLastEpochs >= 1 ? (int)MixOffLastEpochs : (int)Math.Ceiling(MixOffLastEpochs * Epochs);

    /// <summary>The curriculum (--stages); null: one run of --epochs under the flags. With stages, <see cref="Epochs"/> is their sum.</summary>
    public IReadOnlyList<K8sTraining.Training.Stages.StageDefinition>? Stages { get; init; }

    /// <summary>One of ScheduleScopeNames.All: one schedule over all the stages, or one per stage.</summary>
    public string ScheduleScope { get; init; } = K8sTraining.Contract.ScheduleScopeNames.Stage;

    /// <summary>The TrainingJob this run belongs to (the operator sets them); standalone runs leave them null.</summary>
    public string? JobNamespace { get; init; }

    public string? JobName { get; init; }

    /// <summary>Set: the --checkpoint-uri prefix is claimed for this uid (owner.json) and refused when another owns it.</summary>
    public string? JobUid { get; init; }

    /// <summary>Take over a prefix another job (or nobody, by owner.json) holds checkpoints in.</summary>
    public bool CheckpointAdopt { get; init; }

    /// <summary>Fine-tuning: the checkpoint directory or s3:// prefix a fresh run takes its first weights from (read only); null: none.</summary>
    public string? InitFrom { get; init; }

    /// <summary>Which checkpoint of <see cref="InitFrom"/>: best (else the newest, when the source kept no best), latest or step-N.</summary>
    public string InitCheckpoint { get; init; } = K8sTraining.Contract.CheckpointSelectors.Best;

    /// <summary>Also load <see cref="InitFrom"/>'s optimizer state (only when every trainable parameter matched).</summary>
    public bool InitOptimizer { get; init; }

    /// <summary>The instant (UTC) by which this attempt checkpoints and exits 75; null: none.</summary>
    public DateTimeOffset? Deadline { get; init; }

    /// <summary>This process's place in a data-parallel job (WORLD_SIZE, RANK, ...); null: one process, the trainer as it always was.</summary>
    public K8sTraining.Training.Distributed.DistributedSettings? Distributed { get; init; }

    /// <summary>Data parallel: the collective engine (<see cref="K8sTraining.Contract.CollectiveBackends"/>); gloo, as the trainer trains on CPU.</summary>
    public string DistBackend { get; init; } = K8sTraining.Contract.CollectiveBackends.Gloo;

    /// <summary>Data parallel: how long the rendezvous and every collective wait before the peer is declared lost (exit 77).</summary>
    public int DistTimeoutSeconds { get; init; } = 300;

    /// <summary>Where the CSV training log goes: --log-csv, else training-log.csv in the checkpoint directory.</summary>
    public string? ResolvedLogCsv => LogCsv ?? (CheckpointDirectory is null ? null : Path.Combine(CheckpointDirectory, K8sTraining.Contract.ArtifactLayout.CsvLogFileName));
}
