using System.Globalization;
using System.Text.RegularExpressions;
using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Pods;
using k8s.Models;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>
/// Checks the spec beyond what the CRD schema can say (and again in case a server did not apply the schema). The
/// fields passed through to the pod are checked as the API server checks a pod, so a mistake shows up as SpecValid
/// False at once instead of as a refused pod create.
/// </summary>
public static partial class SpecValidator
{
    private static readonly IReadOnlySet<string> TolerationOperators = new HashSet<string>(StringComparer.Ordinal) { "", "Exists", "Equal" };
    private static readonly IReadOnlySet<string> TaintEffects = new HashSet<string>(StringComparer.Ordinal) { "", "NoSchedule", "PreferNoSchedule", "NoExecute" };

    public static IReadOnlyList<string> Validate(TrainingJobSpec? spec)
    {
        var errors = new List<string>();
        if (spec is null)
        {
            errors.Add("spec is required");
            return errors;
        }

        // spec.training is optional: only the built-in trainer reads it.
        if (spec.Training is { } t)
        {
            CheckOneOf(errors, "spec.training.model", t.Model, ModelNames.All);
            CheckOneOf(errors, "spec.training.dataset", t.Dataset, DatasetNames.All);
            CheckOneOf(errors, "spec.training.optimizer", t.Optimizer, OptimizerNames.All);
            if (t.Dataset is DatasetNames.FashionMnist or DatasetNames.ImageFolder or DatasetNames.CsvImages && string.IsNullOrWhiteSpace(t.DataPath))
            {
                errors.Add($"spec.training.dataPath is required when spec.training.dataset is {t.Dataset}: {DataPathHint(t.Dataset)}");
            }

            CheckAtLeast(errors, "spec.training.samples", t.Samples, 1);
            CheckAtLeast(errors, "spec.training.epochs", t.Epochs, 1);
            CheckAtLeast(errors, "spec.training.batchSize", t.BatchSize, 1);
            if (t.LearningRate is { } lr && !(lr is > 0 and <= 10))
            {
                errors.Add($"spec.training.learningRate must be a positive number at most 10, not {lr.ToString(CultureInfo.InvariantCulture)}");
            }

            CheckImageFields(errors, t);
            RecipeValidator.Check(errors, t);
        }

        StageValidator.Check(errors, spec);

        if (spec.Image is not null && string.IsNullOrWhiteSpace(spec.Image))
        {
            errors.Add("spec.image must not be empty");
        }

        if (spec.Checkpoint is { } c)
        {
            if (c.Uri is not null && !IsS3Uri(c.Uri))
            {
                errors.Add($"spec.checkpoint.uri must look like s3://bucket/prefix, not '{c.Uri}'");
            }

            if (c.SecretName is not null && c.Uri is null)
            {
                errors.Add("spec.checkpoint.secretName is set but spec.checkpoint.uri is not: the credentials would be unused");
            }

            CheckAtLeast(errors, "spec.checkpoint.everySteps", c.EverySteps, 1);
            CheckAtLeast(errors, "spec.checkpoint.keep", c.Keep, 1);
            CheckOneOf(errors, "spec.checkpoint.write", c.Write, CheckpointWriteModes.All);
        }

        CheckpointSyncValidator.Check(errors, spec);

        if (spec.MetricsPort is { } port && port is < 0 or > 65535)
        {
            errors.Add($"spec.metricsPort must be a port number from 1 to 65535, or 0 for no metrics endpoint, not {port}");
        }

        CheckAtLeast(errors, "spec.maxRestarts", spec.MaxRestarts, 0);
        CheckAtLeast(errors, "spec.restartBackoffSeconds", spec.RestartBackoffSeconds, 0);
        CheckAtLeast(errors, "spec.maxRestartBackoffSeconds", spec.MaxRestartBackoffSeconds, 0);
        CheckAtLeast(errors, "spec.terminationGracePeriodSeconds", spec.TerminationGracePeriodSeconds, 1);
        CheckAtLeast(errors, "spec.activeDeadlineSeconds", spec.ActiveDeadlineSeconds, 1);
        CheckAtLeast(errors, "spec.ttlSecondsAfterFinished", spec.TtlSecondsAfterFinished, 0);
        CheckAtLeast(errors, "spec.nodeLossToleranceSeconds", spec.NodeLossToleranceSeconds, 0);
        CheckAtLeast(errors, "spec.nodeLossReplaceAfterSeconds", spec.NodeLossReplaceAfterSeconds, 0);
        CheckOneOf(errors, "spec.nodeLossPolicy", spec.NodeLossPolicy, NodeLossPolicies.All);
        GangValidator.Check(errors, spec);
        CheckPodFields(errors, spec);
        CheckOpenPodFields(errors, spec);
        return errors;
    }

    /// <summary>The operator's own labels on the trainer pod: the job's pods are found and told apart by them.</summary>
    private static readonly IReadOnlySet<string> OperatorLabels = new HashSet<string>(StringComparer.Ordinal)
    {
        WellKnown.JobNameLabel, WellKnown.AttemptLabel, WellKnown.NameLabel, WellKnown.InstanceLabel, WellKnown.ComponentLabel, WellKnown.ManagedByLabel,
        WellKnown.WorkerRankLabel,
    };

    /// <summary>
    /// The opened pod (issue 17): what the API server would refuse, and every user value that would take over what the
    /// operator owns (the contract environment, the checkpoint volume and directory, the metrics port, the container
    /// name "trainer", its labels), each named by its field.
    /// </summary>
    private static void CheckOpenPodFields(List<string> errors, TrainingJobSpec spec)
    {
        for (var i = 0; i < (spec.Env?.Count ?? 0); i++)
        {
            if (spec.Env![i]?.Name is { } name && TrainerEnvironment.All.Contains(name, StringComparer.Ordinal))
            {
                errors.Add($"spec.env[{i}].name '{name}' is a trainer contract variable the operator sets itself; set it through its spec field (spec.training, spec.checkpoint, spec.metricsPort) or use another name");
            }
        }

        var volumes = new HashSet<string>(StringComparer.Ordinal) { TrainerPodBuilder.CheckpointVolume };
        for (var i = 0; i < (spec.Volumes?.Count ?? 0); i++)
        {
            var field = $"spec.volumes[{i}].name";
            var name = spec.Volumes![i]?.Name;
            if (string.IsNullOrEmpty(name))
            {
                errors.Add($"{field} is required");
            }
            else if (name == TrainerPodBuilder.CheckpointVolume)
            {
                errors.Add($"{field} '{name}' is the operator's checkpoint volume; choose another name");
            }
            else if (!IsDnsLabel(name))
            {
                errors.Add($"{field} '{name}' {DnsLabelRule}");
            }
            else if (!volumes.Add(name))
            {
                errors.Add($"{field} '{name}' is given twice");
            }
        }

        CheckMounts(errors, "spec.volumeMounts", spec.VolumeMounts, volumes);
        for (var i = 0; i < (spec.ImagePullSecrets?.Count ?? 0); i++)
        {
            var name = spec.ImagePullSecrets![i]?.Name;
            if (string.IsNullOrEmpty(name))
            {
                errors.Add($"spec.imagePullSecrets[{i}].name is required");
            }
            else
            {
                CheckDnsSubdomain(errors, $"spec.imagePullSecrets[{i}].name", name);
            }
        }

        var containers = new HashSet<string>(StringComparer.Ordinal) { WellKnown.TrainerContainer };
        foreach (var (list, items) in new[] { ("spec.initContainers", spec.InitContainers), ("spec.sidecars", spec.Sidecars) })
        {
            for (var i = 0; i < (items?.Count ?? 0); i++)
            {
                CheckContainer(errors, $"{list}[{i}]", items![i], list == "spec.sidecars", containers, volumes, spec.EffectiveMetricsPort);
            }
        }

        foreach (var (key, value) in spec.PodMetadata?.Labels ?? new Dictionary<string, string>())
        {
            if (OperatorLabels.Contains(key))
            {
                errors.Add($"spec.podMetadata.labels['{key}'] is a label the operator sets on its pods; remove it from spec.podMetadata.labels");
            }
            else if (QualifiedNameProblem(key) is { } problem)
            {
                errors.Add($"spec.podMetadata.labels key '{key}' {problem}");
            }

            if (!IsLabelValue(value ?? ""))
            {
                errors.Add($"spec.podMetadata.labels['{key}'] value '{value}' is not a valid label value (at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit)");
            }
        }

        foreach (var key in spec.PodMetadata?.Annotations?.Keys ?? [])
        {
            if (QualifiedNameProblem(key) is { } problem)
            {
                errors.Add($"spec.podMetadata.annotations key '{key}' {problem}");
            }
        }
    }

    private static void CheckContainer(List<string> errors, string field, V1Container? container, bool sidecar, HashSet<string> names, IReadOnlySet<string> volumes, int metricsPort)
    {
        if (container is null)
        {
            errors.Add($"{field} must not be null");
            return;
        }

        if (string.IsNullOrEmpty(container.Name))
        {
            errors.Add($"{field}.name is required");
        }
        else if (container.Name == WellKnown.TrainerContainer)
        {
            errors.Add($"{field}.name '{container.Name}' is the operator's trainer container; choose another name");
        }
        else if (!IsDnsLabel(container.Name))
        {
            errors.Add($"{field}.name '{container.Name}' {DnsLabelRule}");
        }
        else if (!names.Add(container.Name))
        {
            errors.Add($"{field}.name '{container.Name}' is given twice (container names are unique in the pod)");
        }

        if (string.IsNullOrWhiteSpace(container.Image))
        {
            errors.Add($"{field}.image is required");
        }

        if (sidecar && container.RestartPolicy is not (null or TrainerPodBuilder.NativeSidecarRestartPolicy))
        {
            errors.Add($"{field}.restartPolicy must be unset or Always (the operator runs sidecars as native sidecars), not '{container.RestartPolicy}'");
        }
        else if (!sidecar && container.RestartPolicy is not null)
        {
            errors.Add($"{field}.restartPolicy must be unset: an init container runs to completion; put a container that runs beside the trainer in spec.sidecars");
        }

        foreach (var (port, j) in (container.Ports ?? []).Select((p, j) => (p, j)))
        {
            if (port?.Name == WellKnown.MetricsPortName || (metricsPort > 0 && port?.ContainerPort == metricsPort))
            {
                errors.Add($"{field}.ports[{j}] takes the trainer's metrics port ({WellKnown.MetricsPortName}, {metricsPort}, spec.metricsPort); use another port and name");
            }
        }

        CheckMounts(errors, $"{field}.volumeMounts", container.VolumeMounts, volumes);
    }

    private static void CheckMounts(List<string> errors, string list, IList<V1VolumeMount>? mounts, IReadOnlySet<string> volumes)
    {
        var paths = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < (mounts?.Count ?? 0); i++)
        {
            var field = $"{list}[{i}]";
            var mount = mounts![i];
            if (mount is null)
            {
                errors.Add($"{field} must not be null");
                continue;
            }

            if (string.IsNullOrEmpty(mount.Name))
            {
                errors.Add($"{field}.name is required");
            }
            else if (!volumes.Contains(mount.Name))
            {
                errors.Add($"{field}.name '{mount.Name}' names no volume in spec.volumes");
            }

            var path = mount.MountPath?.TrimEnd('/');
            if (string.IsNullOrEmpty(mount.MountPath))
            {
                errors.Add($"{field}.mountPath is required");
            }
            else if (path == WellKnown.CheckpointDirectory && list == "spec.volumeMounts")
            {
                errors.Add($"{field}.mountPath '{mount.MountPath}' is the trainer's checkpoint directory, which the operator mounts; mount elsewhere");
            }
            else if (!paths.Add(path!))
            {
                errors.Add($"{field}.mountPath '{mount.MountPath}' is mounted twice");
            }
        }
    }

    private const string DnsLabelRule = "is not a valid name (at most 63 lower case letters, digits and '-', starting and ending with a letter or digit)";

    internal static bool IsDnsLabel(string value) => value.Length <= 63 && DnsLabel().IsMatch(value);

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex DnsLabel();

    /// <summary>The fields of the trainer's image, split and loss flags, with the trainer's own bounds (OptionsParser).</summary>
    private static void CheckImageFields(List<string> errors, TrainingSpec t)
    {
        CheckRange(errors, "spec.training.numClasses", t.NumClasses, 2, 100_000);
        if (t.InChannels is { } channels && channels is not (1 or 3))
        {
            errors.Add($"spec.training.inChannels must be 1 (grayscale) or 3 (RGB), not {channels}");
        }

        CheckRange(errors, "spec.training.imageSize", t.ImageSize, 8, 4096);
        CheckOneOf(errors, "spec.training.stem", t.Stem, ResNetStems.All);
        CheckRange(errors, "spec.training.cnnChannels", t.CnnChannels, 1, 512);
        if (t.CnnChannels is not null && t.Model != ModelNames.Cnn)
        {
            // The trainer's --cnn-channels is exit 2 beside any other model (the CRD's rule on spec.training says the same).
            errors.Add($"spec.training.cnnChannels applies to model {ModelNames.Cnn} only, not {t.Model ?? ModelNames.Mlp}: remove cnnChannels, or set model {ModelNames.Cnn}");
        }
        CheckRange(errors, "spec.training.augmentation.randomCropPadding", t.Augmentation?.RandomCropPadding, 0, 1024);
        CheckAtLeast(errors, "spec.training.maxSamplesPerClass", t.MaxSamplesPerClass, 0);
        if (t.ValidationFraction is { } fraction && !(fraction is >= 0 and <= 0.9))
        {
            errors.Add($"spec.training.validationFraction must be from 0 (no validation split) to 0.9, not {fraction.ToString(CultureInfo.InvariantCulture)}");
        }

        CheckOneOf(errors, "spec.training.loss", t.Loss, LossNames.All);
        if (t.FocalGamma is { } gamma && !(gamma is >= 0 and <= 100))
        {
            errors.Add($"spec.training.focalGamma must be from 0 to 100, not {gamma.ToString(CultureInfo.InvariantCulture)}");
        }

        CheckRange(errors, "spec.training.loader.workers", t.Loader?.Workers, 1, 256);
        CheckRange(errors, "spec.training.loader.prefetchBatches", t.Loader?.PrefetchBatches, 1, 1024);
        if (t.ClassWeights is { } weights && ClassWeightsProblem(weights, t.NumClasses) is { } problem)
        {
            errors.Add($"spec.training.classWeights '{weights}' {problem}");
        }
    }

    /// <summary>
    /// Why a class-weights value would stop the trainer (exit 2), or null: the schema's pattern cannot see a weight too
    /// large for a double (1e999) or a count that disagrees with numClasses.
    /// </summary>
    public static string? ClassWeightsProblem(string weights, int? numClasses)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (weights is ClassWeightModes.None or ClassWeightModes.Auto)
        {
            return null;
        }

        if (!ClassWeightList().IsMatch(weights))
        {
            return $"is not allowed; allowed: {ClassWeightModes.None}, {ClassWeightModes.Auto} (inverse class frequency), or one non-negative weight per class, comma-separated, e.g. 1,1,10";
        }

        var parts = weights.Split(',');
        if (parts.FirstOrDefault(w => !double.IsFinite(double.Parse(w, NumberStyles.Float, CultureInfo.InvariantCulture))) is { } huge)
        {
            return $"has the weight {huge}, which is not a finite number; give weights below 1e308";
        }

        return numClasses is { } classes && parts.Length != classes
            ? $"has {parts.Length} weights but spec.training.numClasses is {classes}: give one weight per class"
            : null;
    }

    private static string DataPathHint(string? dataset) => dataset switch
    {
        DatasetNames.ImageFolder => "a directory in the trainer's container with train/<class>/ image folders (val/ and test/ optional)",
        DatasetNames.CsvImages => "a CSV file in the trainer's container with the header emotion,pixels,Usage",
        _ => "a directory in the trainer's container with the Fashion-MNIST idx files",
    };

    private static void CheckRange(List<string> errors, string field, long? value, long minimum, long maximum)
    {
        if (value is { } v && (v < minimum || v > maximum))
        {
            errors.Add($"{field} must be from {minimum} to {maximum}, not {v}");
        }
    }

    private static void CheckPodFields(List<string> errors, TrainingJobSpec spec)
    {
        for (var i = 0; i < (spec.Env?.Count ?? 0); i++)
        {
            var name = spec.Env![i]?.Name;
            if (string.IsNullOrEmpty(name))
            {
                errors.Add($"spec.env[{i}].name is required");
            }
            else if (!EnvVarName().IsMatch(name))
            {
                errors.Add($"spec.env[{i}].name '{name}' is not a valid environment variable name (letters, digits, '_', '-' and '.', not starting with a digit)");
            }
        }

        for (var i = 0; i < (spec.Tolerations?.Count ?? 0); i++)
        {
            var t = spec.Tolerations![i];
            var field = $"spec.tolerations[{i}]";
            if (t is null)
            {
                errors.Add($"{field} must not be null");
                continue;
            }

            if (!TolerationOperators.Contains(t.OperatorProperty ?? ""))
            {
                errors.Add($"{field}.operator must be Exists or Equal, not '{t.OperatorProperty}'");
            }

            if (!TaintEffects.Contains(t.Effect ?? ""))
            {
                errors.Add($"{field}.effect must be NoSchedule, PreferNoSchedule or NoExecute, not '{t.Effect}'");
            }

            if (!string.IsNullOrEmpty(t.Key) && QualifiedNameProblem(t.Key) is { } keyProblem)
            {
                errors.Add($"{field}.key '{t.Key}' {keyProblem}");
            }

            if (string.IsNullOrEmpty(t.Key) && t.OperatorProperty != "Exists")
            {
                errors.Add($"{field}.operator must be Exists when the key is empty");
            }

            if (t.OperatorProperty == "Exists" && !string.IsNullOrEmpty(t.Value))
            {
                errors.Add($"{field}.value must be empty when the operator is Exists");
            }

            if (t.TolerationSeconds is not null && t.Effect != "NoExecute")
            {
                errors.Add($"{field}.effect must be NoExecute when tolerationSeconds is set");
            }
        }

        foreach (var (key, value) in spec.NodeSelector ?? new Dictionary<string, string>())
        {
            if (QualifiedNameProblem(key) is { } keyProblem)
            {
                errors.Add($"spec.nodeSelector key '{key}' {keyProblem}");
            }

            if (!IsLabelValue(value ?? ""))
            {
                errors.Add($"spec.nodeSelector['{key}'] value '{value}' is not a valid label value (at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit)");
            }
        }

        CheckDnsSubdomain(errors, "spec.priorityClassName", spec.PriorityClassName);
        CheckDnsSubdomain(errors, "spec.serviceAccountName", spec.ServiceAccountName);
        CheckResources(errors, spec.Resources);
    }

    private static void CheckResources(List<string> errors, V1ResourceRequirements? resources)
    {
        foreach (var (kind, quantities) in new[] { ("limits", resources?.Limits), ("requests", resources?.Requests) })
        {
            foreach (var (name, quantity) in quantities ?? new Dictionary<string, ResourceQuantity>())
            {
                if (QualifiedNameProblem(name) is { } problem)
                {
                    errors.Add($"spec.resources.{kind} key '{name}' {problem}");
                }

                if (Amount(quantity) is { } amount && amount < 0)
                {
                    errors.Add($"spec.resources.{kind}.{name} must not be negative, not {quantity}");
                }
            }
        }

        foreach (var (name, request) in resources?.Requests ?? new Dictionary<string, ResourceQuantity>())
        {
            if (resources?.Limits?.TryGetValue(name, out var limit) == true && Amount(request) is { } r && Amount(limit) is { } l && r > l)
            {
                errors.Add($"spec.resources.requests.{name} ({request}) must be less than or equal to spec.resources.limits.{name} ({limit})");
            }
        }
    }

    private static decimal? Amount(ResourceQuantity? quantity)
    {
        try
        {
            return quantity?.ToDecimal();
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
        {
            return null;
        }
    }

    private static void CheckDnsSubdomain(List<string> errors, string field, string? value)
    {
        if (!string.IsNullOrEmpty(value) && !IsDnsSubdomain(value))
        {
            errors.Add($"{field} '{value}' is not a valid name (lower case letters, digits, '-' and '.', at most 253 characters, starting and ending with a letter or digit)");
        }
    }

    /// <summary>Why a label (or resource) key is not a Kubernetes qualified name ([prefix/]name), or null when it is.</summary>
    private static string? QualifiedNameProblem(string key)
    {
        var slash = key.LastIndexOf('/');
        var name = slash < 0 ? key : key[(slash + 1)..];
        if (slash >= 0 && !IsDnsSubdomain(key[..slash]))
        {
            return "has an invalid prefix (it must be a DNS subdomain such as example.com)";
        }

        return name.Length is > 0 and <= 63 && QualifiedNamePart().IsMatch(name)
            ? null
            : "is not a valid key (at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit, with an optional DNS prefix and '/')";
    }

    private static bool IsDnsSubdomain(string value) => value.Length <= 253 && DnsSubdomain().IsMatch(value);

    private static bool IsLabelValue(string value) => value.Length == 0 || (value.Length <= 63 && QualifiedNamePart().IsMatch(value));

    /// <summary>The CRD's pattern for a list of weights (crds/: spec.training.classWeights).</summary>
    public const string ClassWeightListPattern = @"^(none|auto|(([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?)(,([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?)*)$";

    [GeneratedRegex(ClassWeightListPattern)]
    private static partial Regex ClassWeightList();

    [GeneratedRegex("^[-._a-zA-Z][-._a-zA-Z0-9]*$")]
    private static partial Regex EnvVarName();

    [GeneratedRegex("^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")]
    private static partial Regex QualifiedNamePart();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex DnsSubdomain();

    internal static bool IsS3Uri(string uri) =>
        Uri.TryCreate(uri, UriKind.Absolute, out var parsed) && parsed.Scheme == "s3" && parsed.Host.Length >= 3;

    private static void CheckOneOf(List<string> errors, string field, string? value, IReadOnlyList<string> allowed)
    {
        if (value is not null && !allowed.Contains(value))
        {
            errors.Add($"{field} must be one of {string.Join(", ", allowed)}, not '{value}'");
        }
    }

    private static void CheckAtLeast(List<string> errors, string field, long? value, long minimum)
    {
        if (value is { } v && v < minimum)
        {
            errors.Add($"{field} must be at least {minimum}, not {v}");
        }
    }
}
