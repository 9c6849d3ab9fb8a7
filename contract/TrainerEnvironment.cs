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

    /// <summary>--checkpoint-write: periodic checkpoints written <c>background</c> (the default) or <c>sync</c> (<see cref="CheckpointWriteModes"/>).</summary>
    public const string CheckpointWrite = Prefix + "CHECKPOINT_WRITE";

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

    /// <summary>--num-classes: classes the model predicts (default: the data set's).</summary>
    public const string NumClasses = Prefix + "NUM_CLASSES";

    /// <summary>--in-channels: image channels the model reads, 1 (grayscale) or 3 (RGB) (default: the data set's).</summary>
    public const string InChannels = Prefix + "IN_CHANNELS";

    /// <summary>--image-size: images are resized to this square size (default: the data set's own).</summary>
    public const string ImageSize = Prefix + "IMAGE_SIZE";

    /// <summary>--stem: a ResNet's first layers, <c>auto</c>, <c>imagenet</c> or <c>small</c>.</summary>
    public const string Stem = Prefix + "STEM";

    /// <summary>--cnn-channels: the cnn's first convolution's output channels (the second has twice as many), 1 to 512 (default 16).</summary>
    public const string CnnChannels = Prefix + "CNN_CHANNELS";

    /// <summary>--random-crop-padding: training images are padded by this many pixels and cropped back at random (0 = off).</summary>
    public const string RandomCropPadding = Prefix + "RANDOM_CROP_PADDING";

    /// <summary>--horizontal-flip: <c>true</c> flips half the training images left to right.</summary>
    public const string HorizontalFlip = Prefix + "HORIZONTAL_FLIP";

    /// <summary>--normalize: <c>true</c> normalises every channel by the training split's mean and standard deviation.</summary>
    public const string Normalize = Prefix + "NORMALIZE";

    /// <summary>--max-samples-per-class: the limited mode, at most this many training samples per class (0 = all).</summary>
    public const string MaxSamplesPerClass = Prefix + "MAX_SAMPLES_PER_CLASS";

    /// <summary>--val-fraction: a stratified validation split taken from the training data (0 = none).</summary>
    public const string ValFraction = Prefix + "VAL_FRACTION";

    /// <summary>--class-weights: <c>none</c>, <c>auto</c> (inverse frequency) or one weight per class, comma-separated.</summary>
    public const string ClassWeights = Prefix + "CLASS_WEIGHTS";

    /// <summary>--loss: one of <see cref="LossNames.All"/>.</summary>
    public const string Loss = Prefix + "LOSS";

    /// <summary>--focal-gamma: the focal loss's focusing parameter.</summary>
    public const string FocalGamma = Prefix + "FOCAL_GAMMA";

    /// <summary>--loader-workers: threads that decode and augment samples.</summary>
    public const string LoaderWorkers = Prefix + "LOADER_WORKERS";

    /// <summary>--prefetch-batches: batches prepared ahead of the training step.</summary>
    public const string PrefetchBatches = Prefix + "PREFETCH_BATCHES";

    /// <summary>--scheduler: the learning-rate schedule, one of <see cref="SchedulerNames.All"/>.</summary>
    public const string Scheduler = Prefix + "SCHEDULER";

    /// <summary>--warmup-steps: linear warmup steps.</summary>
    public const string WarmupSteps = Prefix + "WARMUP_STEPS";

    /// <summary>--warmup-epochs: warmup in epochs.</summary>
    public const string WarmupEpochs = Prefix + "WARMUP_EPOCHS";

    /// <summary>--min-lr: where cosine and linear end.</summary>
    public const string MinLr = Prefix + "MIN_LR";

    /// <summary>--step-size: step: optimizer steps between decays.</summary>
    public const string StepSize = Prefix + "STEP_SIZE";

    /// <summary>--milestones: multistep: epochs, comma-separated.</summary>
    public const string Milestones = Prefix + "MILESTONES";

    /// <summary>--onecycle-pct-start: onecycle: fraction of steps rising.</summary>
    public const string OneCyclePctStart = Prefix + "ONECYCLE_PCT_START";

    /// <summary>--onecycle-div-factor: onecycle: initial divisor.</summary>
    public const string OneCycleDivFactor = Prefix + "ONECYCLE_DIV_FACTOR";

    /// <summary>--onecycle-final-div-factor: onecycle: final divisor.</summary>
    public const string OneCycleFinalDivFactor = Prefix + "ONECYCLE_FINAL_DIV_FACTOR";

    /// <summary>--base-momentum: onecycle: lowest momentum.</summary>
    public const string BaseMomentum = Prefix + "BASE_MOMENTUM";

    /// <summary>--max-momentum: onecycle: highest momentum.</summary>
    public const string MaxMomentum = Prefix + "MAX_MOMENTUM";

    /// <summary>--lr-gamma: decay factor of step, multistep and exponential.</summary>
    public const string LrGamma = Prefix + "LR_GAMMA";

    /// <summary>--momentum: SGD momentum or AdamW beta1.</summary>
    public const string Momentum = Prefix + "MOMENTUM";

    /// <summary>--nesterov: SGD Nesterov momentum, true or false.</summary>
    public const string Nesterov = Prefix + "NESTEROV";

    /// <summary>--weight-decay: weight decay.</summary>
    public const string WeightDecay = Prefix + "WEIGHT_DECAY";

    /// <summary>--grad-clip-norm: gradient clipping by total L2 norm.</summary>
    public const string GradClipNorm = Prefix + "GRAD_CLIP_NORM";

    /// <summary>--grad-accumulation-steps: batches per optimizer step.</summary>
    public const string GradAccumulationSteps = Prefix + "GRAD_ACCUMULATION_STEPS";

    /// <summary>--lr-find-steps: LR finder sweep steps.</summary>
    public const string LrFindSteps = Prefix + "LR_FIND_STEPS";

    /// <summary>--lr-find-start: LR finder first learning rate.</summary>
    public const string LrFindStart = Prefix + "LR_FIND_START";

    /// <summary>--lr-find-end: LR finder last learning rate.</summary>
    public const string LrFindEnd = Prefix + "LR_FIND_END";

    /// <summary>--lr-find-rule: how the LR finder suggests a learning rate, <c>steepest</c> or <c>minimum</c>.</summary>
    public const string LrFindRule = Prefix + "LR_FIND_RULE";

    /// <summary>--mixup-alpha: mixup alpha.</summary>
    public const string MixupAlpha = Prefix + "MIXUP_ALPHA";

    /// <summary>--cutmix-alpha: CutMix alpha.</summary>
    public const string CutMixAlpha = Prefix + "CUTMIX_ALPHA";

    /// <summary>--mix-prob: chance a batch is mixed.</summary>
    public const string MixProb = Prefix + "MIX_PROB";

    /// <summary>--mix-off-last-epochs: no mixing in the last N epochs or fraction.</summary>
    public const string MixOffLastEpochs = Prefix + "MIX_OFF_LAST_EPOCHS";

    /// <summary>--label-smoothing: label smoothing epsilon.</summary>
    public const string LabelSmoothing = Prefix + "LABEL_SMOOTHING";

    /// <summary>--ema-decay: EMA decay of the weights.</summary>
    public const string EmaDecay = Prefix + "EMA_DECAY";

    /// <summary>--freeze: parameter name prefixes to freeze, comma-separated.</summary>
    public const string Freeze = Prefix + "FREEZE";

    /// <summary>--best-metric: the best checkpoint's metric, one of <see cref="BestMetricNames.All"/>.</summary>
    public const string BestMetric = Prefix + "BEST_METRIC";

    /// <summary>--best-weights: raw or ema weights compete for the best checkpoint.</summary>
    public const string BestWeights = Prefix + "BEST_WEIGHTS";

    /// <summary>--init-from: a checkpoint directory or s3:// prefix whose weights a fresh run starts from (fine-tuning).</summary>
    public const string InitFrom = Prefix + "INIT_FROM";

    /// <summary>--init-checkpoint: which checkpoint of <see cref="InitFrom"/>, <c>best</c>, <c>latest</c> or <c>step-N</c> (<see cref="CheckpointSelectors"/>).</summary>
    public const string InitCheckpoint = Prefix + "INIT_CHECKPOINT";

    /// <summary>--init-optimizer: <c>true</c> also loads the optimizer state of <see cref="InitFrom"/>.</summary>
    public const string InitOptimizer = Prefix + "INIT_OPTIMIZER";

    /// <summary>--deadline: an RFC 3339 UTC instant; the trainer checkpoints and exits 75 (<see cref="TerminationReasons.DeadlineExceeded"/>) before it.</summary>
    public const string Deadline = Prefix + "DEADLINE";
    /// <summary>--reconfigure: allow a resume whose learning rate, schedule or optimizer settings differ from the checkpoint's.</summary>
    public const string Reconfigure = Prefix + "RECONFIGURE";

    /// <summary>--scale-lr-with-batch: on a resume with another batch size, scale the learning rate linearly (new/old).</summary>
    public const string ScaleLrWithBatch = Prefix + "SCALE_LR_WITH_BATCH";
    /// <summary>--stages: the staged curriculum, a JSON array of stages (spec.stages, camelCase, nulls omitted).</summary>
    public const string Stages = Prefix + "STAGES";

    /// <summary>--schedule-scope: one of <see cref="ScheduleScopeNames.All"/> (one schedule over the run, or one per stage).</summary>
    public const string ScheduleScope = Prefix + "SCHEDULE_SCOPE";

    /// <summary>--dist-backend: data parallel (WORLD_SIZE above 1), the collective engine, <c>gloo</c> (CPU) or <c>nccl</c> (CUDA).</summary>
    public const string DistBackend = Prefix + "DIST_BACKEND";

    /// <summary>--dist-timeout-seconds: data parallel, how long the rendezvous and every collective wait before exit <see cref="TrainerExitCodes.PeerLost"/>.</summary>
    public const string DistTimeoutSeconds = Prefix + "DIST_TIMEOUT_SECONDS";

    /// <summary>
    /// The attempt number (1, 2, ...): the fencing token of the checkpoint protocol (a trainer that finds a newer
    /// attempt's fence or commit exits <see cref="TrainerExitCodes.Superseded"/>). Unset: no fencing. Not a flag.
    /// </summary>
    public const string Attempt = Prefix + "ATTEMPT";

    /// <summary>Every variable above that names a trainer flag (all but <see cref="Attempt"/>).</summary>
    public static readonly IReadOnlyList<string> Flags =
    [
        Model, Dataset, Data, Samples, Epochs, BatchSize, LearningRate, Optimizer, Seed, CheckpointDirectory, CheckpointUri,
        CheckpointEverySteps, CheckpointWrite, KeepCheckpoints, TerminationLog, MetricsPort, JobNamespace, JobName, JobUid, CheckpointAdopt,
        ShutdownTimeoutSeconds, NumClasses, InChannels, ImageSize, Stem, CnnChannels, RandomCropPadding, HorizontalFlip, Normalize, MaxSamplesPerClass, ValFraction, ClassWeights, Loss, FocalGamma, LoaderWorkers, PrefetchBatches,
        Scheduler, WarmupSteps, WarmupEpochs, MinLr, StepSize, Milestones, OneCyclePctStart, OneCycleDivFactor, OneCycleFinalDivFactor, BaseMomentum, MaxMomentum, LrGamma, Momentum, Nesterov, WeightDecay, GradClipNorm, GradAccumulationSteps, LrFindSteps, LrFindStart, LrFindEnd, LrFindRule, MixupAlpha, CutMixAlpha, MixProb, MixOffLastEpochs, LabelSmoothing, EmaDecay, Freeze, BestMetric, BestWeights,
        InitFrom, InitCheckpoint, InitOptimizer, Deadline,
        Reconfigure, ScaleLrWithBatch,
        Stages, ScheduleScope,
        DistBackend, DistTimeoutSeconds,
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
