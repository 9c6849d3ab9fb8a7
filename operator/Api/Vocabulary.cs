using K8sTraining.Contract;

namespace K8sTraining.Operator.Api;

/// <summary>Values of status.phase.</summary>
public static class JobPhases
{
    public const string Pending = "Pending";
    public const string Running = "Running";
    public const string Restarting = "Restarting";
    public const string Succeeded = "Succeeded";
    public const string Failed = "Failed";
    public const string Suspended = "Suspended";

    public static readonly IReadOnlyList<string> All = [Pending, Running, Restarting, Succeeded, Failed, Suspended];

    public static bool IsTerminal(string? phase) => phase is Succeeded or Failed;
}

/// <summary>Condition types in status.conditions.</summary>
public static class ConditionTypes
{
    /// <summary>The spec passed the operator's checks (beyond the schema).</summary>
    public const string SpecValid = "SpecValid";

    /// <summary>A trainer pod is running.</summary>
    public const string Running = "Running";

    public const string Suspended = "Suspended";
    public const string Succeeded = "Succeeded";
    public const string Failed = "Failed";

    /// <summary>True while the API server refuses to create the trainer pod (admission, quota, validation).</summary>
    public const string PodCreateFailed = "PodCreateFailed";

    /// <summary>False while the remote checkpoint store cannot be reached by a starting trainer.</summary>
    public const string StorageAvailable = "StorageAvailable";

    /// <summary>True when the checkpoint prefix belongs to another job (see spec.checkpoint.adopt).</summary>
    public const string CheckpointPrefixInUse = "CheckpointPrefixInUse";

    /// <summary>True while the current attempt's pod sits on a lost Node (unreachable, NotReady or deleted).</summary>
    public const string NodeLost = "NodeLost";

    /// <summary>True while a live edit of the spec restarts the running attempt gracefully (the trainer checkpoints) with the new spec.</summary>
    public const string Reconfiguring = "Reconfiguring";

    /// <summary>False while spec.initFrom.trainingJob names a TrainingJob that is missing or has no spec.checkpoint.uri.</summary>
    public const string InitSourceReady = "InitSourceReady";
}

/// <summary>Values of spec.training.stem (the trainer's --stem).</summary>
public static class ResNetStems
{
    /// <summary>small for inputs up to 64 px, imagenet above.</summary>
    public const string Auto = "auto";

    /// <summary>7x7 stride-2 convolution and max-pool, as trained on ImageNet.</summary>
    public const string ImageNet = "imagenet";

    /// <summary>3x3 stride-1 convolution, no max-pool: for 28 to 64 px images.</summary>
    public const string Small = "small";

    public static readonly IReadOnlyList<string> All = [Auto, ImageNet, Small];
}

/// <summary>The two words spec.training.classWeights takes besides a list of weights (the trainer's --class-weights).</summary>
public static class ClassWeightModes
{
    /// <summary>Every class weighs 1.</summary>
    public const string None = "none";

    /// <summary>Inverse class frequency in the training split, normalised to mean 1.</summary>
    public const string Auto = "auto";
}

/// <summary>Values of spec.nodeLossPolicy.</summary>
public static class NodeLossPolicies
{
    /// <summary>Wait until the pod on the lost Node is gone: never two trainers, however long that takes.</summary>
    public const string Wait = "Wait";

    /// <summary>Replace after spec.nodeLossReplaceAfterSeconds while the old pod may still run (fencing refuses its commits).</summary>
    public const string Replace = "Replace";

    public static readonly IReadOnlyList<string> All = [Wait, Replace];
}

/// <summary>Every value of spec.checkpoint.sync (<see cref="CheckpointSyncModes"/>), in the order the CRD lists them.</summary>
public static class CheckpointSyncValues
{
    public static readonly IReadOnlyList<string> All = [CheckpointSyncModes.Sidecar, CheckpointSyncModes.Trainer, CheckpointSyncModes.None];
}

/// <summary>Condition reasons (PascalCase, as Kubernetes).</summary>
public static class ConditionReasons
{
    public const string Valid = "Valid";
    public const string InvalidSpec = "InvalidSpec";
    public const string PodPending = "PodPending";
    public const string PodRunning = "PodRunning";
    public const string PodTerminating = "PodTerminating";
    public const string Preempted = "Preempted";
    public const string BackingOff = "BackingOff";
    public const string Completed = "Completed";
    public const string ConfigurationError = "ConfigurationError";
    public const string MaxRestartsExceeded = "MaxRestartsExceeded";
    public const string DeadlineExceeded = "DeadlineExceeded";
    public const string SuspendedByUser = "SuspendedByUser";
    public const string Resumed = "Resumed";
    public const string NotSuspended = "NotSuspended";

    /// <summary>SpecValid=False: the object cannot be decoded into the operator's model (a value of the wrong type).</summary>
    public const string Undecodable = "Undecodable";
    public const string PodCreateFailed = "PodCreateFailed";
    public const string PodCreated = "PodCreated";
    public const string TrainingChangedWithCheckpoints = "TrainingChangedWithCheckpoints";
    public const string StorageUnreachable = "StorageUnreachable";
    public const string StorageReachable = "StorageReachable";
    public const string CheckpointPrefixInUse = "CheckpointPrefixInUse";
    public const string SpecChanged = "SpecChanged";

    /// <summary>lastTermination.reason of an attempt replaced under nodeLossPolicy Replace while its pod was on a lost Node.</summary>
    public const string NodeLost = "NodeLost";

    /// <summary>NodeLost=True (and Running=False) under Wait: the pod on the lost Node must go before a replacement.</summary>
    public const string WaitingForPodToGo = "WaitingForPodToGo";

    /// <summary>NodeLost=True under Replace, before nodeLossReplaceAfterSeconds have passed.</summary>
    public const string WaitingToReplace = "WaitingToReplace";

    /// <summary>NodeLost=True: the Replace policy created the replacement; it is not running yet.</summary>
    public const string ReplacedUnderReplacePolicy = "ReplacedUnderReplacePolicy";

    /// <summary>NodeLost=True: the pod on the lost Node is gone and its replacement is not running yet.</summary>
    public const string Replacing = "Replacing";

    /// <summary>NodeLost=False: the replacement of the pod on the lost Node is running.</summary>
    public const string ReplacementRunning = "ReplacementRunning";

    /// <summary>NodeLost=False: the Node came back before the pod was replaced.</summary>
    public const string NodeRecovered = "NodeRecovered";

    /// <summary>Reconfiguring=True: the running attempt is stopped gracefully so the next one starts from the edited spec.</summary>
    public const string Reconfiguring = "Reconfiguring";

    /// <summary>Reconfiguring=False: the attempt with the edited spec was created.</summary>
    public const string Reconfigured = "Reconfigured";

    /// <summary>InitSourceReady=False: spec.initFrom.trainingJob names no TrainingJob in the namespace.</summary>
    public const string InitSourceNotFound = "InitSourceNotFound";

    /// <summary>InitSourceReady=False: the TrainingJob spec.initFrom.trainingJob names has no spec.checkpoint.uri.</summary>
    public const string InitSourceWithoutCheckpoints = "InitSourceWithoutCheckpoints";

    /// <summary>InitSourceReady=True: the source's checkpoint prefix is known.</summary>
    public const string InitSourceResolved = "InitSourceResolved";

    /// <summary>Running=False while a gang attempt is torn down because one worker was disrupted, failed or ended.</summary>
    public const string GangTeardown = "GangTeardown";

    /// <summary>Running=False: not every worker of the gang is Running yet (some are pending).</summary>
    public const string WorkersPending = "WorkersPending";

    /// <summary>Running=False: the gang did not start in time; the next attempt waits out its backoff.</summary>
    public const string GangStartTimeout = "GangStartTimeout";
}

/// <summary>Reasons of the Events the operator records on a TrainingJob.</summary>
public static class EventReasons
{
    public const string AttemptCreated = "AttemptCreated";
    public const string AttemptRunning = "AttemptRunning";
    public const string Preempted = "Preempted";
    public const string AttemptFailed = "AttemptFailed";
    public const string BackingOff = "BackingOff";
    public const string Succeeded = "Succeeded";
    public const string Failed = "Failed";
    public const string Suspended = "Suspended";
    public const string Resumed = "Resumed";
    public const string InvalidSpec = "InvalidSpec";
    public const string SpecValid = "SpecValid";
    public const string DeadlineExceeded = "DeadlineExceeded";
    public const string TtlExpired = "TtlExpired";
    public const string DeletingPod = "DeletingPod";
    public const string Undecodable = "Undecodable";
    public const string PodCreateFailed = "PodCreateFailed";
    public const string PodCreated = "PodCreated";
    public const string PodNotStarting = "PodNotStarting";
    public const string TrainingChangedWithCheckpoints = "TrainingChangedWithCheckpoints";
    public const string StorageUnavailable = "StorageUnavailable";
    public const string StorageAvailable = "StorageAvailable";
    public const string CheckpointPrefixInUse = "CheckpointPrefixInUse";
    public const string Revived = "Revived";

    /// <summary>The current attempt's pod sits on a lost Node (Warning; names the Node and the policy).</summary>
    public const string NodeLost = "NodeLost";

    /// <summary>The replacement of a pod on a lost Node was created (names the checkpoint and the policy that acted).</summary>
    public const string NodeLossReplacement = "NodeLossReplacement";

    /// <summary>The lost Node came back before its pod was replaced.</summary>
    public const string NodeRecovered = "NodeRecovered";

    /// <summary>A live edit of the spec: the running attempt is stopped gracefully and the next starts with the new spec.</summary>
    public const string Reconfiguring = "Reconfiguring";

    /// <summary>spec.initFrom.trainingJob cannot be resolved yet (missing, or without spec.checkpoint.uri); the job waits.</summary>
    public const string InitSourceNotReady = "InitSourceNotReady";

    /// <summary>One worker of a gang was disrupted, failed or ended: the operator deletes the others gracefully (they checkpoint).</summary>
    public const string GangTeardown = "GangTeardown";

    /// <summary>A gang's workers were not all Running within spec.gang.startTimeoutSeconds: torn down, retried with backoff.</summary>
    public const string GangStartTimeout = "GangStartTimeout";

    /// <summary>The headless Service of a multi-worker job could not be created or belongs to someone else.</summary>
    public const string WorkerServiceFailed = "WorkerServiceFailed";
}

/// <summary>Values of status.lastTermination.outcome.</summary>
public static class AttemptOutcomes
{
    public const string Succeeded = "Succeeded";
    public const string Preempted = "Preempted";
    public const string Failed = "Failed";
    public const string ConfigurationError = "ConfigurationError";
    public const string Suspended = "Suspended";
    public const string Stopped = "Stopped";

    /// <summary>The trainer could not reach the checkpoint store (exit 69): retried with backoff, not counted as a failure.</summary>
    public const string StorageUnavailable = "StorageUnavailable";

    /// <summary>Stopped by the operator for a live edit of the spec: neither a failure nor a preemption.</summary>
    public const string Reconfigured = "Reconfigured";

    /// <summary>The trainer checkpointed and stopped at its deadline (exit 75, reason DeadlineExceeded): the job ends DeadlineExceeded.</summary>
    public const string DeadlineExceeded = "DeadlineExceeded";

    /// <summary>A gang's workers were not all Running within spec.gang.startTimeoutSeconds: torn down and retried with backoff, not a failure.</summary>
    public const string GangStartTimeout = "GangStartTimeout";

    public static readonly IReadOnlyList<string> All = [Succeeded, Preempted, Failed, ConfigurationError, Suspended, Stopped, StorageUnavailable, Reconfigured, DeadlineExceeded, GangStartTimeout];
}

/// <summary>Labels, finalizer and annotations the operator puts on trainer pods.</summary>
public static class WellKnown
{
    public const string JobNameLabel = "k8straining.io/job-name";
    public const string AttemptLabel = "k8straining.io/attempt";
    public const string NameLabel = "app.kubernetes.io/name";
    public const string InstanceLabel = "app.kubernetes.io/instance";
    public const string ComponentLabel = "app.kubernetes.io/component";
    public const string ManagedByLabel = "app.kubernetes.io/managed-by";
    public const string ManagedBy = "k8straining-operator";

    /// <summary>Keeps an ended trainer pod until the operator has recorded how it ended (as the Job controller's tracking finalizer).</summary>
    public const string TrackingFinalizer = "k8straining.io/attempt-tracking";

    public const string TrainerContainer = "trainer";

    /// <summary>Name of the trainer's /metrics container port; the chart's PodMonitor scrapes it by this name.</summary>
    public const string MetricsPortName = "metrics";

    /// <summary>Name of the checkpoint-sync sidecar's /metrics container port (the progress probe reads it with spec.checkpoint.sync sidecar).</summary>
    public const string SyncMetricsPortName = "sync-metrics";
    public const string DisruptionTarget = "DisruptionTarget";

    /// <summary>The taints the node lifecycle controller puts on a NotReady / unreachable Node (trainer pods tolerate them for spec.nodeLossToleranceSeconds).</summary>
    public const string NotReadyTaint = "node.kubernetes.io/not-ready";
    public const string UnreachableTaint = "node.kubernetes.io/unreachable";
    public const string CheckpointDirectory = "/var/run/k8straining/checkpoints";

    /// <summary>A multi-worker pod's rank among the attempt's workers (0 is the one that reports).</summary>
    public const string WorkerRankLabel = "k8straining.io/worker-rank";

    /// <summary>The attempt's worker count, on every pod of a multi-worker attempt: pods carrying it are a gang.</summary>
    public const string WorkersAnnotation = "k8straining.io/workers";

    /// <summary>The port worker 0's rendezvous listens on, named in the headless Service.</summary>
    public const string RendezvousPortName = "rendezvous";
    public const string TerminationLog = TerminationMessage.DefaultPath;
}
