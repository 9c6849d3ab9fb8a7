using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using k8s;
using k8s.Models;

namespace K8sTraining.Operator.Pods;

/// <summary>Builds the trainer pod of one attempt: everything the trainer needs comes as TRAINER_* environment.</summary>
public static class TrainerPodBuilder
{
    /// <summary>Seconds of the grace period kept back for the upload to finish and the process to exit.</summary>
    public const long ShutdownMarginSeconds = 5;

    public const string CheckpointVolume = "checkpoints";

    /// <param name="settings">The operator's own settings (the checkpoint-sync image); the defaults when null.</param>
    /// <param name="worker">Which worker of a multi-worker attempt (<see cref="WorkerSlot"/>); null or one worker: the single pod.</param>
    public static V1Pod Build(TrainingJob job, int attempt, AttemptInputs? inputs = null, PodSettings? settings = null, WorkerSlot? worker = null)
    {
        var spec = job.Spec;
        var sidecarSyncs = CheckpointSyncSidecar.IsUsed(spec);
        worker ??= WorkerSlot.Single;
        var name = worker.IsGang ? PodNames.ForWorker(job.Metadata.Name, attempt, worker.Rank) : PodNames.ForAttempt(job.Metadata.Name, attempt);
        var grace = spec.EffectiveGracePeriodSeconds;
        var labels = Merge(spec.PodMetadata?.Labels, Labels(job, attempt));
        var annotations = spec.PodMetadata?.Annotations is { Count: > 0 } own ? new Dictionary<string, string>(own) : null;
        if (worker.IsGang)
        {
            // The gang's own marks win over the user's (SpecValidator refuses a colliding label).
            labels[WellKnown.WorkerRankLabel] = worker.Rank.ToString(CultureInfo.InvariantCulture);
            foreach (var (key, value) in PodGroupMetadata.Labels(job.Metadata.Name, attempt))
            {
                labels[key] = value;
            }

            annotations ??= [];
            annotations[WellKnown.WorkersAnnotation] = worker.Workers.ToString(CultureInfo.InvariantCulture);
            foreach (var (key, value) in PodGroupMetadata.Annotations(job.Metadata.Name, worker.Workers))
            {
                annotations[key] = value;
            }
        }

        return new V1Pod
        {
            ApiVersion = "v1",
            Kind = "Pod",
            Metadata = new V1ObjectMeta
            {
                Name = name,
                NamespaceProperty = job.Metadata.NamespaceProperty,
                // The user's labels first, the operator's over them (SpecValidator refuses a colliding key).
                Labels = labels,
                Annotations = annotations,
                Finalizers = [WellKnown.TrackingFinalizer],
                OwnerReferences = [OwnerReference(job)],
            },
            Spec = new V1PodSpec
            {
                // A worker is reachable as <pod>.<service> (the headless Service), as the rendezvous needs.
                Hostname = worker.IsGang ? name : null,
                Subdomain = worker.IsGang ? PodNames.ServiceFor(job.Metadata.Name) : null,
                RestartPolicy = "Never",
                TerminationGracePeriodSeconds = grace,
                NodeSelector = spec.NodeSelector is null ? null : new Dictionary<string, string>(spec.NodeSelector),
                // The node-loss tolerations come last; where spec.tolerations also tolerates those taints, the taint
                // manager keeps the shortest tolerationSeconds.
                Tolerations = [.. spec.Tolerations ?? [], .. NodeLossTolerations(spec)],
                Affinity = spec.Affinity,
                PriorityClassName = string.IsNullOrEmpty(spec.PriorityClassName) ? null : spec.PriorityClassName,
                ServiceAccountName = string.IsNullOrEmpty(spec.ServiceAccountName) ? null : spec.ServiceAccountName,
                SecurityContext = spec.PodSecurityContext ?? DefaultPodSecurityContext(),
                ImagePullSecrets = spec.ImagePullSecrets is { Count: > 0 } secrets ? [.. secrets] : null,
                Volumes = [new V1Volume { Name = CheckpointVolume, EmptyDir = new V1EmptyDirVolumeSource() }, .. spec.Volumes ?? []],
                InitContainers = sidecarSyncs
                    ? [.. InitContainers(spec) ?? [], CheckpointSyncSidecar.Build(job, attempt, settings ?? PodSettings.Default)]
                    : InitContainers(spec),
                Containers =
                [
                    new V1Container
                    {
                        Name = WellKnown.TrainerContainer,
                        Image = spec.EffectiveImage,
                        ImagePullPolicy = spec.ImagePullPolicy,
                        Command = spec.Command is null ? null : [.. spec.Command],
                        Args = spec.EffectiveArgs is { } args ? [.. args] : null,
                        Env = Environment(job, attempt, grace, inputs ?? new AttemptInputs(), worker),
                        // The Secret reaches only the container that syncs: with the sidecar, not the trainer.
                        EnvFrom = string.IsNullOrEmpty(spec.Checkpoint?.SecretName) || sidecarSyncs
                            ? null
                            : [new V1EnvFromSource { SecretRef = new V1SecretEnvSource { Name = spec.Checkpoint.SecretName } }],
                        Ports = spec.EffectiveMetricsPort > 0
                            ? [new V1ContainerPort { Name = WellKnown.MetricsPortName, ContainerPort = spec.EffectiveMetricsPort, Protocol = "TCP" }]
                            : null,
                        Resources = spec.Resources,
                        SecurityContext = spec.SecurityContext ?? DefaultContainerSecurityContext(),
                        VolumeMounts = [new V1VolumeMount { Name = CheckpointVolume, MountPath = WellKnown.CheckpointDirectory }, .. spec.VolumeMounts ?? []],
                        TerminationMessagePath = WellKnown.TerminationLog,
                        TerminationMessagePolicy = "FallbackToLogsOnError",
                    },
                ],
            },
        };
    }

    /// <summary>The controlling owner reference to the job, on every object the operator creates for it.</summary>
    public static V1OwnerReference OwnerReference(TrainingJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return new V1OwnerReference
        {
            ApiVersion = TrainingJob.KubeApiVersion,
            Kind = TrainingJob.KubeKind,
            Name = job.Metadata.Name,
            Uid = job.Metadata.Uid,
            Controller = true,
            BlockOwnerDeletion = true,
        };
    }

    /// <summary>
    /// The user's init containers, then the sidecars as native sidecars (restartPolicy Always: the kubelet starts them
    /// before the trainer, keeps them running beside it, and stops them after it exits). Copies: the job is not changed.
    /// With spec.checkpoint.sync sidecar, <see cref="Build"/> puts <see cref="CheckpointSyncSidecar"/> after them: it
    /// starts once they run (a proxy sidecar of the user's serves its restore) and stops before them (and its last upload).
    /// </summary>
    public static List<V1Container>? InitContainers(TrainingJobSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var containers = new List<V1Container>();
        containers.AddRange((spec.InitContainers ?? []).Select(Copy));
        foreach (var sidecar in spec.Sidecars ?? [])
        {
            var copy = Copy(sidecar);
            copy.RestartPolicy = NativeSidecarRestartPolicy;
            containers.Add(copy);
        }

        return containers.Count == 0 ? null : containers;
    }

    /// <summary>What makes an init container a native sidecar (Kubernetes 1.29+).</summary>
    public const string NativeSidecarRestartPolicy = "Always";

    private static V1Container Copy(V1Container container) =>
        KubernetesJson.Deserialize<V1Container>(KubernetesJson.Serialize(container));

    private static Dictionary<string, string> Merge(IDictionary<string, string>? user, Dictionary<string, string> own)
    {
        var merged = new Dictionary<string, string>(user ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        foreach (var (key, value) in own)
        {
            merged[key] = value;
        }

        return merged;
    }

    /// <summary>
    /// Tolerations of the taints the node lifecycle controller puts on an unreachable or NotReady Node, for
    /// spec.nodeLossToleranceSeconds: the taint manager evicts the pod that much after the taint instead of the
    /// cluster's default 300 s.
    /// </summary>
    public static IReadOnlyList<V1Toleration> NodeLossTolerations(TrainingJobSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return
        [
            new V1Toleration { Key = WellKnown.NotReadyTaint, OperatorProperty = "Exists", Effect = "NoExecute", TolerationSeconds = spec.EffectiveNodeLossToleranceSeconds },
            new V1Toleration { Key = WellKnown.UnreachableTaint, OperatorProperty = "Exists", Effect = "NoExecute", TolerationSeconds = spec.EffectiveNodeLossToleranceSeconds },
        ];
    }

    /// <summary>
    /// What the <c>restricted</c> Pod Security profile asks of a pod: no root, seccomp RuntimeDefault. The trainer
    /// image runs as a numeric non-root USER, so runAsNonRoot holds without choosing a uid here.
    /// </summary>
    public static V1PodSecurityContext DefaultPodSecurityContext() => new()
    {
        RunAsNonRoot = true,
        SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
    };

    /// <summary>What the <c>restricted</c> profile asks of each container: no privilege escalation, no capabilities.</summary>
    public static V1SecurityContext DefaultContainerSecurityContext() => new()
    {
        AllowPrivilegeEscalation = false,
        Capabilities = new V1Capabilities { Drop = ["ALL"] },
        RunAsNonRoot = true,
        SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
    };

    public static Dictionary<string, string> Labels(TrainingJob job, int attempt) => new()
    {
        [WellKnown.JobNameLabel] = PodNames.LabelValue(job.Metadata.Name),
        [WellKnown.AttemptLabel] = attempt.ToString(CultureInfo.InvariantCulture),
        [WellKnown.NameLabel] = "k8s-training-trainer",
        [WellKnown.InstanceLabel] = PodNames.LabelValue(job.Metadata.Name),
        [WellKnown.ComponentLabel] = "trainer",
        [WellKnown.ManagedByLabel] = WellKnown.ManagedBy,
    };

    /// <summary>
    /// The variables a live edit may change on a running job (batch size, epochs, samples, stages, learning rate,
    /// schedule and optimizer hyper-parameters): when the running pod's value of one differs from what the spec gives
    /// now, the operator restarts the attempt gracefully with the new spec.
    /// </summary>
    public static readonly IReadOnlyList<string> LiveEditable =
    [
        TrainerEnvironment.Epochs, TrainerEnvironment.BatchSize, TrainerEnvironment.Samples, TrainerEnvironment.LearningRate,
        TrainerEnvironment.Scheduler, TrainerEnvironment.WarmupSteps, TrainerEnvironment.WarmupEpochs, TrainerEnvironment.MinLr,
        TrainerEnvironment.LrGamma, TrainerEnvironment.StepSize, TrainerEnvironment.Milestones, TrainerEnvironment.OneCyclePctStart,
        TrainerEnvironment.OneCycleDivFactor, TrainerEnvironment.OneCycleFinalDivFactor, TrainerEnvironment.BaseMomentum,
        TrainerEnvironment.MaxMomentum, TrainerEnvironment.Momentum, TrainerEnvironment.Nesterov, TrainerEnvironment.WeightDecay,
        TrainerEnvironment.ScaleLrWithBatch, TrainerEnvironment.Stages, TrainerEnvironment.ScheduleScope,
    ];

    /// <summary>The trainer container's environment of an attempt (what <see cref="Build"/> puts in the pod).</summary>
    public static IReadOnlyList<V1EnvVar> EnvironmentOf(TrainingJob job, int attempt, AttemptInputs? inputs = null)
    {
        ArgumentNullException.ThrowIfNull(job);
        return Environment(job, attempt, job.Spec.EffectiveGracePeriodSeconds, inputs ?? new AttemptInputs(), WorkerSlot.Single);
    }

    /// <summary>spec.stages as TRAINER_STAGES: a JSON array with the API's camelCase names, nulls omitted; null without stages.</summary>
    public static string? StagesJson(TrainingJobSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return spec.Stages is { Count: > 0 } stages ? JsonSerializer.Serialize(stages, StagesJsonOptions) : null;
    }

    private static readonly JsonSerializerOptions StagesJsonOptions = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>An instant as TRAINER_DEADLINE spells it: RFC 3339 in UTC, whole seconds.</summary>
    public static string DeadlineText(DateTimeOffset deadline) =>
        deadline.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static List<V1EnvVar> Environment(TrainingJob job, int attempt, long grace, AttemptInputs inputs, WorkerSlot worker)
    {
        var t = job.Spec.Training;
        var c = job.Spec.Checkpoint;
        var env = new List<V1EnvVar>();
        void Add(string name, object? value)
        {
            if (value is not null)
            {
                env.Add(new V1EnvVar { Name = name, Value = Convert.ToString(value, CultureInfo.InvariantCulture) });
            }
        }

        // The built-in trainer's model and data come only from a training block; the contract's variables below always.
        if (t is not null)
        {
            TrainingEnvironment(t, Add);
        }

        // Stages (their sum is the run's epochs), fine-tuning, reconfiguration and the deadline: issue 16.
        if (job.Spec.Stages is { Count: > 0 })
        {
            env.RemoveAll(e => e.Name == TrainerEnvironment.Epochs);
            Add(TrainerEnvironment.Epochs, job.Spec.EffectiveEpochs);
            Add(TrainerEnvironment.Stages, StagesJson(job.Spec));
        }

        Add(TrainerEnvironment.ScheduleScope, job.Spec.ScheduleScope);
        if (job.Spec.InitFrom is { } init && (inputs.InitFromUri ?? init.Uri) is { Length: > 0 } source)
        {
            Add(TrainerEnvironment.InitFrom, source);
            Add(TrainerEnvironment.InitCheckpoint, init.Checkpoint);
            Add(TrainerEnvironment.InitOptimizer, Flag(init.Optimizer));
        }

        Add(TrainerEnvironment.Reconfigure, inputs.Reconfigure ? "true" : null);
        Add(TrainerEnvironment.Deadline, inputs.Deadline is { } deadline ? DeadlineText(deadline) : null);

        Add(TrainerEnvironment.CheckpointDirectory, WellKnown.CheckpointDirectory);
        // With the checkpoint-sync sidecar the trainer only writes step directories; the sidecar alone knows the store.
        Add(TrainerEnvironment.CheckpointUri, string.IsNullOrEmpty(c?.Uri) || CheckpointSyncSidecar.IsUsed(job.Spec) ? null : c.Uri);
        Add(TrainerEnvironment.CheckpointEverySteps, c?.EverySteps);
        Add(TrainerEnvironment.CheckpointWrite, c?.Write);
        Add(TrainerEnvironment.KeepCheckpoints, c?.Keep);
        Add(TrainerEnvironment.TerminationLog, WellKnown.TerminationLog);
        Add(TrainerEnvironment.Attempt, attempt);
        Add(TrainerEnvironment.MetricsPort, job.Spec.EffectiveMetricsPort > 0 ? job.Spec.EffectiveMetricsPort : null);
        // The trainer's metric labels (job_namespace, job_name): bounded, unlike the pod name.
        Add(TrainerEnvironment.JobNamespace, job.Metadata.NamespaceProperty);
        Add(TrainerEnvironment.JobName, job.Metadata.Name);
        // Who owns the checkpoint prefix: the trainer refuses another job's checkpoints unless adopt is set.
        Add(TrainerEnvironment.JobUid, string.IsNullOrEmpty(job.Metadata.Uid) ? null : job.Metadata.Uid);
        Add(TrainerEnvironment.CheckpointAdopt, c?.Adopt == true ? "true" : null);
        Add(TrainerEnvironment.ShutdownTimeoutSeconds, Math.Max(1, grace - ShutdownMarginSeconds));
        env.AddRange(WorkerEnvironment.For(job, attempt, worker));
        if (job.Spec.Env is { } extra)
        {
            env.AddRange(extra);
        }

        return env;
    }

    private static void TrainingEnvironment(TrainingSpec t, Action<string, object?> add)
    {
        add(TrainerEnvironment.Model, t.Model);
        add(TrainerEnvironment.Dataset, t.Dataset);
        add(TrainerEnvironment.Data, t.DataPath);
        add(TrainerEnvironment.Samples, t.Samples);
        add(TrainerEnvironment.Epochs, t.Epochs);
        add(TrainerEnvironment.BatchSize, t.BatchSize);
        // lrFinder.auto asks the trainer to find the learning rate (SpecValidator refuses it beside learningRate).
        add(TrainerEnvironment.LearningRate, t.LrFinder?.Auto == true ? LearningRateAuto : Number(t.LearningRate));
        add(TrainerEnvironment.Optimizer, t.Optimizer);
        add(TrainerEnvironment.Seed, t.Seed);
        add(TrainerEnvironment.NumClasses, t.NumClasses);
        add(TrainerEnvironment.InChannels, t.InChannels);
        add(TrainerEnvironment.ImageSize, t.ImageSize);
        add(TrainerEnvironment.Stem, t.Stem);
        add(TrainerEnvironment.CnnChannels, t.CnnChannels);
        add(TrainerEnvironment.RandomCropPadding, t.Augmentation?.RandomCropPadding);
        add(TrainerEnvironment.HorizontalFlip, Flag(t.Augmentation?.HorizontalFlip));
        add(TrainerEnvironment.Normalize, Flag(t.Normalize));
        add(TrainerEnvironment.MaxSamplesPerClass, t.MaxSamplesPerClass);
        add(TrainerEnvironment.ValFraction, Number(t.ValidationFraction));
        add(TrainerEnvironment.ClassWeights, t.ClassWeights);
        add(TrainerEnvironment.Loss, t.Loss);
        add(TrainerEnvironment.FocalGamma, Number(t.FocalGamma));
        add(TrainerEnvironment.LoaderWorkers, t.Loader?.Workers);
        add(TrainerEnvironment.PrefetchBatches, t.Loader?.PrefetchBatches);
        RecipeEnvironment(t, add);
    }

    /// <summary>The value of TRAINER_LR that asks the built-in trainer for an LR finder sweep (--lr auto).</summary>
    public const string LearningRateAuto = "auto";

    /// <summary>The schedule, optimizer, regularisation and best-checkpoint fields (issue 15), each as its flag's variable.</summary>
    private static void RecipeEnvironment(TrainingSpec t, Action<string, object?> add)
    {
        var s = t.Schedule;
        add(TrainerEnvironment.Scheduler, s?.Type);
        add(TrainerEnvironment.WarmupSteps, s?.WarmupSteps);
        add(TrainerEnvironment.WarmupEpochs, Number(s?.WarmupEpochs));
        add(TrainerEnvironment.MinLr, Number(s?.MinLearningRate));
        add(TrainerEnvironment.LrGamma, Number(s?.Gamma));
        add(TrainerEnvironment.StepSize, s?.StepSize);
        add(TrainerEnvironment.Milestones, List(s?.Milestones?.Select(m => m.ToString(CultureInfo.InvariantCulture))));
        add(TrainerEnvironment.OneCyclePctStart, Number(s?.OneCycle?.PctStart));
        add(TrainerEnvironment.OneCycleDivFactor, Number(s?.OneCycle?.DivFactor));
        add(TrainerEnvironment.OneCycleFinalDivFactor, Number(s?.OneCycle?.FinalDivFactor));
        add(TrainerEnvironment.BaseMomentum, Number(s?.OneCycle?.BaseMomentum));
        add(TrainerEnvironment.MaxMomentum, Number(s?.OneCycle?.MaxMomentum));
        add(TrainerEnvironment.Momentum, Number(t.Momentum));
        add(TrainerEnvironment.Nesterov, Flag(t.Nesterov));
        add(TrainerEnvironment.WeightDecay, Number(t.WeightDecay));
        add(TrainerEnvironment.GradClipNorm, Number(t.GradClipNorm));
        add(TrainerEnvironment.GradAccumulationSteps, t.GradAccumulationSteps);
        add(TrainerEnvironment.LrFindSteps, t.LrFinder?.Steps);
        add(TrainerEnvironment.LrFindStart, Number(t.LrFinder?.StartLearningRate));
        add(TrainerEnvironment.LrFindEnd, Number(t.LrFinder?.EndLearningRate));
        add(TrainerEnvironment.LrFindRule, t.LrFinder?.Rule);
        add(TrainerEnvironment.MixupAlpha, Number(t.Mixing?.MixupAlpha));
        add(TrainerEnvironment.CutMixAlpha, Number(t.Mixing?.CutmixAlpha));
        add(TrainerEnvironment.MixProb, Number(t.Mixing?.Probability));
        add(TrainerEnvironment.MixOffLastEpochs, Number(t.Mixing?.OffLastEpochs));
        add(TrainerEnvironment.LabelSmoothing, Number(t.LabelSmoothing));
        add(TrainerEnvironment.EmaDecay, Number(t.EmaDecay));
        add(TrainerEnvironment.Freeze, List(t.Freeze));
        add(TrainerEnvironment.BestMetric, t.Best?.Metric);
        add(TrainerEnvironment.BestWeights, t.Best?.Weights);
        add(TrainerEnvironment.ScaleLrWithBatch, Flag(t.ScaleLrWithBatch));
    }

    /// <summary>A list as the trainer's flags take it: comma-separated; an empty list is left unset (the trainer's none).</summary>
    private static string? List(IEnumerable<string>? values) =>
        values?.ToList() is { Count: > 0 } list ? string.Join(',', list) : null;

    /// <summary>A boolean as the trainer's flags spell it (true / false, never .NET's True).</summary>
    private static string? Flag(bool? value) => value switch
    {
        null => null,
        true => "true",
        false => "false",
    };

    /// <summary>A number that round-trips, in the invariant culture (0 stays "0", which the trainer reads as off).</summary>
    private static string? Number(double? value) => value?.ToString("R", CultureInfo.InvariantCulture);
}
