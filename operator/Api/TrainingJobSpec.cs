using System.Text.Json.Serialization;
using K8sTraining.Contract;
using k8s.Models;

namespace K8sTraining.Operator.Api;

/// <summary>
/// What to train and how to run it. The pod is opened field by field (command, args, volumes, volumeMounts,
/// imagePullSecrets, security contexts, initContainers, sidecars, podMetadata) rather than through a podTemplate
/// overlay: what the operator owns (restart policy, grace period, finalizer, owner reference, the TRAINER_* contract
/// environment, the metrics port, the container name "trainer") then has no field a user could set against it.
/// </summary>
public sealed class TrainingJobSpec
{
    public const string DefaultImage = "ghcr.io/k8straining/trainer:0.1.0";

    /// <summary>The OpenTelemetry Prometheus exporter's customary port (DCGM's 9400 is left to the GPU exporter).</summary>
    public const int DefaultMetricsPort = 9464;

    /// <summary>Trainer image; its ENTRYPOINT is the trainer.</summary>
    [JsonPropertyName("image")]
    public string? Image { get; set; }

    [JsonPropertyName("imagePullPolicy")]
    public string? ImagePullPolicy { get; set; }

    /// <summary>
    /// The built-in trainer's command line, one field per flag (as TRAINER_* variables). Optional: without it no
    /// model or data variable is set, only the contract's (checkpoint directory and uri, attempt, job, deadline).
    /// </summary>
    [JsonPropertyName("training")]
    public TrainingSpec? Training { get; set; }

    /// <summary>The trainer container's command (its ENTRYPOINT when unset).</summary>
    [JsonPropertyName("command")]
    public IList<string>? Command { get; set; }

    /// <summary>The trainer container's arguments; unset, "train" for the built-in trainer (see <see cref="EffectiveArgs"/>).</summary>
    [JsonPropertyName("args")]
    public IList<string>? Args { get; set; }

    /// <summary>Volumes of the trainer pod, besides the operator's own checkpoint volume.</summary>
    [JsonPropertyName("volumes")]
    public IList<V1Volume>? Volumes { get; set; }

    /// <summary>Mounts of <see cref="Volumes"/> into the trainer container.</summary>
    [JsonPropertyName("volumeMounts")]
    public IList<V1VolumeMount>? VolumeMounts { get; set; }

    /// <summary>Secrets the kubelet pulls the pod's images with.</summary>
    [JsonPropertyName("imagePullSecrets")]
    public IList<V1LocalObjectReference>? ImagePullSecrets { get; set; }

    /// <summary>Containers that run to completion, in order, before the trainer (and the sidecars) start.</summary>
    [JsonPropertyName("initContainers")]
    public IList<V1Container>? InitContainers { get; set; }

    /// <summary>
    /// Native sidecars (Kubernetes 1.29+): rendered as init containers with restartPolicy Always, after
    /// <see cref="InitContainers"/>; they start before the trainer, run beside it, and stop after it exits.
    /// </summary>
    [JsonPropertyName("sidecars")]
    public IList<V1Container>? Sidecars { get; set; }

    /// <summary>Extra labels and annotations of the trainer pod.</summary>
    [JsonPropertyName("podMetadata")]
    public PodMetadataSpec? PodMetadata { get; set; }

    [JsonPropertyName("checkpoint")]
    public CheckpointSpec? Checkpoint { get; set; }

    [JsonPropertyName("resources")]
    public V1ResourceRequirements? Resources { get; set; }

    [JsonPropertyName("nodeSelector")]
    public IDictionary<string, string>? NodeSelector { get; set; }

    [JsonPropertyName("tolerations")]
    public IList<V1Toleration>? Tolerations { get; set; }

    [JsonPropertyName("affinity")]
    public V1Affinity? Affinity { get; set; }

    [JsonPropertyName("priorityClassName")]
    public string? PriorityClassName { get; set; }

    [JsonPropertyName("serviceAccountName")]
    public string? ServiceAccountName { get; set; }

    /// <summary>
    /// The trainer container's securityContext. Unset, the operator uses one that passes the <c>restricted</c> Pod
    /// Security profile (non-root, no privilege escalation, all capabilities dropped, seccomp RuntimeDefault).
    /// </summary>
    [JsonPropertyName("securityContext")]
    public V1SecurityContext? SecurityContext { get; set; }

    /// <summary>The trainer pod's securityContext (runAsUser, fsGroup...); unset, runAsNonRoot and seccomp RuntimeDefault.</summary>
    [JsonPropertyName("podSecurityContext")]
    public V1PodSecurityContext? PodSecurityContext { get; set; }

    /// <summary>Extra environment for the trainer container (after the operator's own TRAINER_* variables).</summary>
    [JsonPropertyName("env")]
    public IList<V1EnvVar>? Env { get; set; }

    /// <summary>Port of the trainer's Prometheus /metrics (container port "metrics"); 0 turns the endpoint off.</summary>
    [JsonPropertyName("metricsPort")]
    public int? MetricsPort { get; set; }

    /// <summary>How many failed attempts are retried; preemptions never count.</summary>
    [JsonPropertyName("maxRestarts")]
    public int? MaxRestarts { get; set; }

    /// <summary>Delay before the first retry after a failure; doubles with every further failure.</summary>
    [JsonPropertyName("restartBackoffSeconds")]
    public int? RestartBackoffSeconds { get; set; }

    [JsonPropertyName("maxRestartBackoffSeconds")]
    public int? MaxRestartBackoffSeconds { get; set; }

    /// <summary>Time the trainer gets between SIGTERM and SIGKILL to finish its step and checkpoint.</summary>
    [JsonPropertyName("terminationGracePeriodSeconds")]
    public long? TerminationGracePeriodSeconds { get; set; }

    /// <summary>Wall-clock limit from the start (or the last resume) of the job; then Failed with DeadlineExceeded.</summary>
    [JsonPropertyName("activeDeadlineSeconds")]
    public long? ActiveDeadlineSeconds { get; set; }

    /// <summary>True deletes the pod gracefully (the trainer checkpoints); false again resumes from that checkpoint.</summary>
    [JsonPropertyName("suspend")]
    public bool? Suspend { get; set; }

    /// <summary>Delete the TrainingJob this long after it succeeded or failed.</summary>
    [JsonPropertyName("ttlSecondsAfterFinished")]
    public int? TtlSecondsAfterFinished { get; set; }

    /// <summary>
    /// Seconds a trainer pod stays bound to a Node that turned unreachable or NotReady before the taint manager evicts
    /// it: the pod's not-ready and unreachable NoExecute tolerations (the cluster's default is 300).
    /// </summary>
    [JsonPropertyName("nodeLossToleranceSeconds")]
    public long? NodeLossToleranceSeconds { get; set; }

    /// <summary>
    /// What to do while the trainer pod sits on a lost Node: Wait (until the pod is gone) or Replace (after
    /// nodeLossReplaceAfterSeconds, while the old pod may still exist; safe because checkpoint commits are fenced).
    /// </summary>
    [JsonPropertyName("nodeLossPolicy")]
    public string? NodeLossPolicy { get; set; }

    /// <summary>Under the Replace policy: how long the Node must have been lost before a replacement is created.</summary>
    [JsonPropertyName("nodeLossReplaceAfterSeconds")]
    public long? NodeLossReplaceAfterSeconds { get; set; }

    /// <summary>
    /// Stages run in order inside the job (a curriculum); each may override the training's batch size, learning rate,
    /// schedule, data fraction, image size, mixing and frozen layers. The run's epochs are the sum of the stages'.
    /// </summary>
    [JsonPropertyName("stages")]
    public IList<StageSpec>? Stages { get; set; }

    /// <summary>With stages: one learning-rate schedule across all stages (global) or one per stage (stage, the default).</summary>
    [JsonPropertyName("scheduleScope")]
    public string? ScheduleScope { get; set; }

    /// <summary>Start a fresh run from another job's (or a uri's) checkpoint weights: fine-tuning.</summary>
    [JsonPropertyName("initFrom")]
    public InitFromSpec? InitFrom { get; set; }

    /// <summary>
    /// Pods (workers) that train together as one data-parallel gang; 1 (the default) is a single trainer pod named as
    /// always. Each worker gets the PyTorchJob-style WORLD_SIZE, RANK, LOCAL_RANK, MASTER_ADDR and MASTER_PORT. An edit
    /// takes effect at the next attempt (elastic resume from the checkpoint's global sample index).
    /// </summary>
    [JsonPropertyName("workers")]
    public int? Workers { get; set; }

    /// <summary>Processes in each worker pod (one per GPU, as torchrun's --nproc-per-node); WORLD_SIZE is workers times this. Default 1.</summary>
    [JsonPropertyName("processesPerWorker")]
    public int? ProcessesPerWorker { get; set; }

    /// <summary>How the workers of one attempt start together (with workers &gt; 1).</summary>
    [JsonPropertyName("gang")]
    public GangSpec? Gang { get; set; }

    [JsonIgnore]
    public int EffectiveWorkers => Workers is { } w && w > 0 ? w : 1;

    [JsonIgnore]
    public int EffectiveProcessesPerWorker => ProcessesPerWorker is { } p && p > 0 ? p : 1;

    [JsonIgnore]
    public long EffectiveGangStartTimeoutSeconds => Gang?.StartTimeoutSeconds ?? GangSpec.DefaultStartTimeoutSeconds;

    /// <summary>The run's epochs: the sum of the stages' epochs with stages, else spec.training.epochs.</summary>
    [JsonIgnore]
    public int? EffectiveEpochs => Stages is { Count: > 0 } stages ? stages.Sum(s => s.Epochs) : Training?.Epochs;

    [JsonIgnore]
    public string EffectiveImage => string.IsNullOrWhiteSpace(Image) ? DefaultImage : Image;

    /// <summary>
    /// The trainer container's args: spec.args; unset, the built-in trainer's "train" subcommand when no command is
    /// given and the job is the built-in trainer's (a training block, or the default image); otherwise none, so a
    /// custom image runs its own ENTRYPOINT and CMD.
    /// </summary>
    [JsonIgnore]
    public IList<string>? EffectiveArgs =>
        Args ?? (Command is null && (Training is not null || string.IsNullOrWhiteSpace(Image) || Image == DefaultImage) ? [BuiltInTrainerCommand] : null);

    /// <summary>The built-in trainer's subcommand.</summary>
    public const string BuiltInTrainerCommand = "train";

    /// <summary>spec.checkpoint.sync, or its default: trainer for the built-in trainer (spec.training), sidecar for any other trainer with a checkpoint uri, none without one.</summary>
    [JsonIgnore]
    public string EffectiveCheckpointSync =>
        Checkpoint?.Sync is { Length: > 0 } sync ? sync
        : string.IsNullOrEmpty(Checkpoint?.Uri) ? CheckpointSyncModes.None
        : Training is not null ? CheckpointSyncModes.Trainer
        : CheckpointSyncModes.Sidecar;

    [JsonIgnore]
    public int EffectiveMaxRestarts => MaxRestarts ?? 3;

    [JsonIgnore]
    public int EffectiveMetricsPort => MetricsPort ?? DefaultMetricsPort;

    [JsonIgnore]
    public long EffectiveGracePeriodSeconds => TerminationGracePeriodSeconds ?? 60;

    [JsonIgnore]
    public bool IsSuspended => Suspend == true;

    [JsonIgnore]
    public long EffectiveNodeLossToleranceSeconds => NodeLossToleranceSeconds ?? DefaultNodeLossToleranceSeconds;

    [JsonIgnore]
    public string EffectiveNodeLossPolicy => string.IsNullOrEmpty(NodeLossPolicy) ? NodeLossPolicies.Wait : NodeLossPolicy;

    [JsonIgnore]
    public long EffectiveNodeLossReplaceAfterSeconds => NodeLossReplaceAfterSeconds ?? DefaultNodeLossReplaceAfterSeconds;

    public const long DefaultNodeLossToleranceSeconds = 30;

    public const long DefaultNodeLossReplaceAfterSeconds = 60;
}

/// <summary>Extra metadata of the trainer pod; the operator's own labels cannot be overridden.</summary>
public sealed class PodMetadataSpec
{
    [JsonPropertyName("labels")]
    public IDictionary<string, string>? Labels { get; set; }

    [JsonPropertyName("annotations")]
    public IDictionary<string, string>? Annotations { get; set; }
}

/// <summary>The training configuration; maps 1:1 to the trainer's flags.</summary>
public sealed class TrainingSpec
{
    [JsonPropertyName("model")]
    public string? Model { get; set; }

    [JsonPropertyName("dataset")]
    public string? Dataset { get; set; }

    /// <summary>The data: a directory (fashion-mnist, image-folder) or a CSV file (csv-images).</summary>
    [JsonPropertyName("dataPath")]
    public string? DataPath { get; set; }

    [JsonPropertyName("samples")]
    public int? Samples { get; set; }

    [JsonPropertyName("epochs")]
    public int? Epochs { get; set; }

    [JsonPropertyName("batchSize")]
    public int? BatchSize { get; set; }

    [JsonPropertyName("learningRate")]
    public double? LearningRate { get; set; }

    [JsonPropertyName("optimizer")]
    public string? Optimizer { get; set; }

    [JsonPropertyName("seed")]
    public long? Seed { get; set; }

    /// <summary>Classes the model predicts (--num-classes); unset, the data set's.</summary>
    [JsonPropertyName("numClasses")]
    public int? NumClasses { get; set; }

    /// <summary>Image channels the model reads, 1 or 3 (--in-channels); unset, the data set's.</summary>
    [JsonPropertyName("inChannels")]
    public int? InChannels { get; set; }

    /// <summary>Square size images are resized to (--image-size); unset, the data set's own.</summary>
    [JsonPropertyName("imageSize")]
    public int? ImageSize { get; set; }

    /// <summary>A ResNet's first layers (--stem): one of <see cref="ResNetStems.All"/>.</summary>
    [JsonPropertyName("stem")]
    public string? Stem { get; set; }

    /// <summary>The cnn's width (--cnn-channels): its first convolution's output channels, 1 to 512; model cnn only. Unset: 16.</summary>
    [JsonPropertyName("cnnChannels")]
    public int? CnnChannels { get; set; }

    /// <summary>Random transforms of the training images.</summary>
    [JsonPropertyName("augmentation")]
    public AugmentationSpec? Augmentation { get; set; }

    /// <summary>Normalise each channel by the training split's mean and standard deviation (--normalize; trainer default true).</summary>
    [JsonPropertyName("normalize")]
    public bool? Normalize { get; set; }

    /// <summary>The limited mode: at most this many training samples per class (--max-samples-per-class; 0 = all).</summary>
    [JsonPropertyName("maxSamplesPerClass")]
    public int? MaxSamplesPerClass { get; set; }

    /// <summary>A stratified validation split taken from the training data (--val-fraction; 0 = none).</summary>
    [JsonPropertyName("validationFraction")]
    public double? ValidationFraction { get; set; }

    /// <summary>none, auto (inverse frequency) or one weight per class, comma-separated (--class-weights).</summary>
    [JsonPropertyName("classWeights")]
    public string? ClassWeights { get; set; }

    /// <summary>The loss to minimise (--loss): one of LossNames.All.</summary>
    [JsonPropertyName("loss")]
    public string? Loss { get; set; }

    /// <summary>The focal loss's focusing parameter (--focal-gamma).</summary>
    [JsonPropertyName("focalGamma")]
    public double? FocalGamma { get; set; }

    /// <summary>How samples are decoded and prepared ahead of the training step.</summary>
    [JsonPropertyName("loader")]
    public LoaderSpec? Loader { get; set; }

    /// <summary>The learning-rate schedule, set every optimizer step (--scheduler and its parameters).</summary>
    [JsonPropertyName("schedule")]
    public ScheduleSpec? Schedule { get; set; }

    /// <summary>SGD momentum, or AdamW's beta1 (--momentum); OneCycle cycles it instead.</summary>
    [JsonPropertyName("momentum")]
    public double? Momentum { get; set; }

    /// <summary>SGD with Nesterov momentum (--nesterov).</summary>
    [JsonPropertyName("nesterov")]
    public bool? Nesterov { get; set; }

    /// <summary>Weight decay, decoupled for AdamW (--weight-decay; trainer default 0).</summary>
    [JsonPropertyName("weightDecay")]
    public double? WeightDecay { get; set; }

    /// <summary>Clip the gradients' total L2 norm before each optimizer step (--grad-clip-norm; 0 = off).</summary>
    [JsonPropertyName("gradClipNorm")]
    public double? GradClipNorm { get; set; }

    /// <summary>Batches whose gradients are summed into one optimizer step (--grad-accumulation-steps).</summary>
    [JsonPropertyName("gradAccumulationSteps")]
    public int? GradAccumulationSteps { get; set; }

    /// <summary>The LR finder: with auto, its suggestion is the learning rate (--lr auto, --lr-find-*).</summary>
    [JsonPropertyName("lrFinder")]
    public LrFinderSpec? LrFinder { get; set; }

    /// <summary>Mixup and CutMix of training batches (--mixup-alpha, --cutmix-alpha, --mix-prob, --mix-off-last-epochs).</summary>
    [JsonPropertyName("mixing")]
    public MixingSpec? Mixing { get; set; }

    /// <summary>Label smoothing epsilon, on the batches that are not mixed (--label-smoothing).</summary>
    [JsonPropertyName("labelSmoothing")]
    public double? LabelSmoothing { get; set; }

    /// <summary>Decay of an exponential moving average of the weights (--ema-decay; 0 = none).</summary>
    [JsonPropertyName("emaDecay")]
    public double? EmaDecay { get; set; }

    /// <summary>Parameter name prefixes whose parameters are not trained (--freeze).</summary>
    [JsonPropertyName("freeze")]
    public IList<string>? Freeze { get; set; }

    /// <summary>Scale the learning rate linearly with a batch size changed on resume or by a stage (--scale-lr-with-batch).</summary>
    [JsonPropertyName("scaleLrWithBatch")]
    public bool? ScaleLrWithBatch { get; set; }

    /// <summary>Which checkpoint is kept as the best, and by which weights (--best-metric, --best-weights).</summary>
    [JsonPropertyName("best")]
    public BestSpec? Best { get; set; }
}

/// <summary>Random transforms of the training images (never of validation or test images).</summary>
public sealed class AugmentationSpec
{
    /// <summary>Pad training images by this many pixels and crop back at random (--random-crop-padding; 0 = off).</summary>
    [JsonPropertyName("randomCropPadding")]
    public int? RandomCropPadding { get; set; }

    /// <summary>Flip half the training images left to right (--horizontal-flip).</summary>
    [JsonPropertyName("horizontalFlip")]
    public bool? HorizontalFlip { get; set; }
}

/// <summary>The data loader: parallel decoding and augmentation with prefetch (no effect on the result).</summary>
public sealed class LoaderSpec
{
    /// <summary>Threads that decode and augment samples (--loader-workers).</summary>
    [JsonPropertyName("workers")]
    public int? Workers { get; set; }

    /// <summary>Batches prepared ahead of the training step (--prefetch-batches).</summary>
    [JsonPropertyName("prefetchBatches")]
    public int? PrefetchBatches { get; set; }
}

/// <summary>Where and how often the trainer checkpoints.</summary>
public sealed class CheckpointSpec
{
    /// <summary>s3://bucket/prefix; without it checkpoints live only in the pod and a replacement starts over.</summary>
    [JsonPropertyName("uri")]
    public string? Uri { get; set; }

    /// <summary>Secret with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and optionally AWS_REGION, AWS_ENDPOINT_URL.</summary>
    [JsonPropertyName("secretName")]
    public string? SecretName { get; set; }

    [JsonPropertyName("everySteps")]
    public int? EverySteps { get; set; }

    [JsonPropertyName("keep")]
    public int? Keep { get; set; }

    /// <summary>
    /// How the built-in trainer writes periodic checkpoints (<see cref="CheckpointWriteModes"/>): background (unset: the
    /// default; a hard kill mid-write loses that checkpoint too) or sync (a hard kill loses at most everySteps).
    /// </summary>
    [JsonPropertyName("write")]
    public string? Write { get; set; }

    /// <summary>True lets this job take over checkpoints another job (another uid) left at the uri, and resume from them.</summary>
    [JsonPropertyName("adopt")]
    public bool? Adopt { get; set; }

    /// <summary>
    /// Who keeps the checkpoints in the remote store (<see cref="CheckpointSyncModes"/>): sidecar
    /// (the operator's checkpoint-sync sidecar restores and uploads; the trainer only writes step directories), trainer
    /// (the trainer syncs itself) or none. Unset: trainer with spec.training, sidecar for any other image with a uri,
    /// none without a uri.
    /// </summary>
    [JsonPropertyName("sync")]
    public string? Sync { get; set; }
}

/// <summary>One stage of a curriculum: a name, its epochs, and the training fields it overrides (unset: the training's).</summary>
public sealed class StageSpec
{
    /// <summary>The stage's name, a DNS label unique among the stages (its artefacts are stages/&lt;name&gt;/).</summary>
    [JsonPropertyName("name")]
    public required string Name { get; set; }

    [JsonPropertyName("epochs")]
    public required int Epochs { get; set; }

    [JsonPropertyName("batchSize")]
    public int? BatchSize { get; set; }

    [JsonPropertyName("learningRate")]
    public double? LearningRate { get; set; }

    /// <summary>A factor on the learning rate (the training's, or this stage's learningRate).</summary>
    [JsonPropertyName("lrScale")]
    public double? LrScale { get; set; }

    [JsonPropertyName("schedule")]
    public ScheduleSpec? Schedule { get; set; }

    /// <summary>A deterministic, seed-stable subset of the training data, growing monotonically across stages; (0, 1].</summary>
    [JsonPropertyName("dataFraction")]
    public double? DataFraction { get; set; }

    [JsonPropertyName("imageSize")]
    public int? ImageSize { get; set; }

    /// <summary>false: no mixing in this stage; unset or true: the training's mixing settings.</summary>
    [JsonPropertyName("mixup")]
    public bool? Mixup { get; set; }

    [JsonPropertyName("freeze")]
    public IList<string>? Freeze { get; set; }

    /// <summary>Which weights the stage starts from: previous (the default) or best-of-previous.</summary>
    [JsonPropertyName("initFrom")]
    public string? InitFrom { get; set; }

    /// <summary>A time limit of the stage, counted from when it starts or resumes in an attempt: the trainer then checkpoints and stops with DeadlineExceeded.</summary>
    [JsonPropertyName("maxDurationSeconds")]
    public long? MaxDurationSeconds { get; set; }
}

/// <summary>Where a fine-tuned run's first weights come from: exactly one of trainingJob and uri.</summary>
public sealed class InitFromSpec
{
    /// <summary>A TrainingJob in the same namespace; its spec.checkpoint.uri is read (never written).</summary>
    [JsonPropertyName("trainingJob")]
    public string? TrainingJob { get; set; }

    /// <summary>A checkpoint prefix, s3://bucket/prefix, read with this job's own checkpoint credentials.</summary>
    [JsonPropertyName("uri")]
    public string? Uri { get; set; }

    /// <summary>best (the default; latest when the source has no best), latest, or step-N.</summary>
    [JsonPropertyName("checkpoint")]
    public string? Checkpoint { get; set; }

    /// <summary>Also load the optimizer state (default false: weights only).</summary>
    [JsonPropertyName("optimizer")]
    public bool? Optimizer { get; set; }
}

/// <summary>How the workers of one attempt start together: all Running within the timeout, or the attempt is torn down and retried.</summary>
public sealed class GangSpec
{
    public const long DefaultStartTimeoutSeconds = 300;

    /// <summary>
    /// Seconds from the attempt's creation until every worker must be Running; otherwise all its pods are deleted
    /// (none keeps half the cluster's GPUs) and the attempt is retried with backoff, not counted as a failure. Default 300.
    /// </summary>
    [JsonPropertyName("startTimeoutSeconds")]
    public long? StartTimeoutSeconds { get; set; }
}
