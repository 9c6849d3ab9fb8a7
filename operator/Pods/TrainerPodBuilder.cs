using System.Globalization;
using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using k8s.Models;

namespace K8sTraining.Operator.Pods;

/// <summary>Builds the trainer pod of one attempt: everything the trainer needs comes as TRAINER_* environment.</summary>
public static class TrainerPodBuilder
{
    /// <summary>Seconds of the grace period kept back for the upload to finish and the process to exit.</summary>
    public const long ShutdownMarginSeconds = 5;

    public const string CheckpointVolume = "checkpoints";

    public static V1Pod Build(TrainingJob job, int attempt)
    {
        var spec = job.Spec;
        var name = PodNames.ForAttempt(job.Metadata.Name, attempt);
        var grace = spec.EffectiveGracePeriodSeconds;
        return new V1Pod
        {
            ApiVersion = "v1",
            Kind = "Pod",
            Metadata = new V1ObjectMeta
            {
                Name = name,
                NamespaceProperty = job.Metadata.NamespaceProperty,
                Labels = Labels(job, attempt),
                Finalizers = [WellKnown.TrackingFinalizer],
                OwnerReferences =
                [
                    new V1OwnerReference
                    {
                        ApiVersion = TrainingJob.KubeApiVersion,
                        Kind = TrainingJob.KubeKind,
                        Name = job.Metadata.Name,
                        Uid = job.Metadata.Uid,
                        Controller = true,
                        BlockOwnerDeletion = true,
                    },
                ],
            },
            Spec = new V1PodSpec
            {
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
                Volumes = [new V1Volume { Name = CheckpointVolume, EmptyDir = new V1EmptyDirVolumeSource() }],
                Containers =
                [
                    new V1Container
                    {
                        Name = WellKnown.TrainerContainer,
                        Image = spec.EffectiveImage,
                        ImagePullPolicy = spec.ImagePullPolicy,
                        Args = ["train"],
                        Env = Environment(job, attempt, grace),
                        EnvFrom = string.IsNullOrEmpty(spec.Checkpoint?.SecretName)
                            ? null
                            : [new V1EnvFromSource { SecretRef = new V1SecretEnvSource { Name = spec.Checkpoint.SecretName } }],
                        Ports = spec.EffectiveMetricsPort > 0
                            ? [new V1ContainerPort { Name = WellKnown.MetricsPortName, ContainerPort = spec.EffectiveMetricsPort, Protocol = "TCP" }]
                            : null,
                        Resources = spec.Resources,
                        SecurityContext = spec.SecurityContext ?? DefaultContainerSecurityContext(),
                        VolumeMounts = [new V1VolumeMount { Name = CheckpointVolume, MountPath = WellKnown.CheckpointDirectory }],
                        TerminationMessagePath = WellKnown.TerminationLog,
                        TerminationMessagePolicy = "FallbackToLogsOnError",
                    },
                ],
            },
        };
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

    private static List<V1EnvVar> Environment(TrainingJob job, int attempt, long grace)
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

        Add(TrainerEnvironment.Model, t.Model);
        Add(TrainerEnvironment.Dataset, t.Dataset);
        Add(TrainerEnvironment.Data, t.DataPath);
        Add(TrainerEnvironment.Samples, t.Samples);
        Add(TrainerEnvironment.Epochs, t.Epochs);
        Add(TrainerEnvironment.BatchSize, t.BatchSize);
        Add(TrainerEnvironment.LearningRate, Number(t.LearningRate));
        Add(TrainerEnvironment.Optimizer, t.Optimizer);
        Add(TrainerEnvironment.Seed, t.Seed);
        Add(TrainerEnvironment.NumClasses, t.NumClasses);
        Add(TrainerEnvironment.InChannels, t.InChannels);
        Add(TrainerEnvironment.ImageSize, t.ImageSize);
        Add(TrainerEnvironment.Stem, t.Stem);
        Add(TrainerEnvironment.RandomCropPadding, t.Augmentation?.RandomCropPadding);
        Add(TrainerEnvironment.HorizontalFlip, Flag(t.Augmentation?.HorizontalFlip));
        Add(TrainerEnvironment.Normalize, Flag(t.Normalize));
        Add(TrainerEnvironment.MaxSamplesPerClass, t.MaxSamplesPerClass);
        Add(TrainerEnvironment.ValFraction, Number(t.ValidationFraction));
        Add(TrainerEnvironment.ClassWeights, t.ClassWeights);
        Add(TrainerEnvironment.Loss, t.Loss);
        Add(TrainerEnvironment.FocalGamma, Number(t.FocalGamma));
        Add(TrainerEnvironment.LoaderWorkers, t.Loader?.Workers);
        Add(TrainerEnvironment.PrefetchBatches, t.Loader?.PrefetchBatches);
        Add(TrainerEnvironment.CheckpointDirectory, WellKnown.CheckpointDirectory);
        Add(TrainerEnvironment.CheckpointUri, string.IsNullOrEmpty(c?.Uri) ? null : c.Uri);
        Add(TrainerEnvironment.CheckpointEverySteps, c?.EverySteps);
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
        if (job.Spec.Env is { } extra)
        {
            env.AddRange(extra);
        }

        return env;
    }

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
