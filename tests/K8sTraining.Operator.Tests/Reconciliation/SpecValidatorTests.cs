using K8sTraining.Operator.Api;
using K8sTraining.Operator.Reconciliation;
using K8sTraining.Operator.Tests.Builders;
using k8s.Models;

namespace K8sTraining.Operator.Tests.Reconciliation;

/// <summary>What the operator rejects even when a server did not apply the CRD schema.</summary>
[Trait("Category", "Unit")]
public sealed class SpecValidatorTests
{
    [Fact]
    public void Validate_Should_AcceptTheDefaultJob_When_NothingIsWrong()
    {
        Assert.Empty(SpecValidator.Validate(TrainingJobBuilder.Default().Build().Spec));
    }

    [Theory]
    [InlineData(-1, "spec.metricsPort must be a port number from 1 to 65535, or 0 for no metrics endpoint, not -1")]
    [InlineData(65536, "spec.metricsPort must be a port number from 1 to 65535, or 0 for no metrics endpoint, not 65536")]
    [InlineData(0, null)]
    [InlineData(65535, null)]
    public void Validate_Should_NameTheFieldAndTheAllowedRange_When_MetricsPortIsOutOfRange(int port, string? expected)
    {
        var job = TrainingJobBuilder.Default().Build();
        job.Spec.MetricsPort = port;

        var errors = SpecValidator.Validate(job.Spec);

        if (expected is null)
        {
            Assert.Empty(errors);
        }
        else
        {
            Assert.Equal(expected, Assert.Single(errors));
        }
    }

    [Theory]
    [InlineData("unset: the trainer's default", null, null)]
    [InlineData("background", "background", null)]
    [InlineData("sync", "sync", null)]
    [InlineData("unknown mode", "async", "spec.checkpoint.write must be one of background, sync, not 'async'")]
    [InlineData("wrong case", "Sync", "spec.checkpoint.write must be one of background, sync, not 'Sync'")]
    public void Validate_Should_CheckTheCheckpointWriteMode_When_Set(string name, string? write, string? expected)
    {
        var job = TrainingJobBuilder.Default().WithSpec(s => s.Checkpoint!.Write = write).Build();

        var errors = SpecValidator.Validate(job.Spec);

        Assert.True(expected is null ? errors.Count == 0 : errors.SequenceEqual([expected]), $"{name}: {string.Join("; ", errors)}");
    }

    [Theory]
    [InlineData("negative toleration", -1L, null, null, "spec.nodeLossToleranceSeconds must be at least 0, not -1")]
    [InlineData("negative replace delay", null, null, -5L, "spec.nodeLossReplaceAfterSeconds must be at least 0, not -5")]
    [InlineData("unknown policy", null, "Delete", null, "spec.nodeLossPolicy must be one of Wait, Replace, not 'Delete'")]
    [InlineData("policy in the wrong case", null, "replace", null, "spec.nodeLossPolicy must be one of Wait, Replace, not 'replace'")]
    [InlineData("Replace at once", 0L, "Replace", 0L, null)]
    [InlineData("Wait", 30L, "Wait", 60L, null)]
    public void Validate_Should_CheckTheNodeLossFields_When_Set(string name, long? tolerance, string? policy, long? replaceAfter, string? expected)
    {
        var job = TrainingJobBuilder.Default().WithSpec(s =>
        {
            s.NodeLossToleranceSeconds = tolerance;
            s.NodeLossPolicy = policy;
            s.NodeLossReplaceAfterSeconds = replaceAfter;
        }).Build();

        var errors = SpecValidator.Validate(job.Spec);

        Assert.True(expected is null ? errors.Count == 0 : errors.SequenceEqual([expected]), $"{name}: {string.Join("; ", errors)}");
    }

    public static TheoryData<PodFieldCase> TrainingFieldCases() => new()
    {
        new("image-folder without dataPath", s => s.Training!.Dataset = "image-folder", "spec.training.dataPath is required when spec.training.dataset is image-folder: a directory in the trainer's container with train/<class>/"),
        new("csv-images without dataPath", s => s.Training!.Dataset = "csv-images", "spec.training.dataPath is required when spec.training.dataset is csv-images: a CSV file"),
        new("csv-images with a blank dataPath", s => { s.Training!.Dataset = "csv-images"; s.Training!.DataPath = " "; }, "spec.training.dataPath is required when spec.training.dataset is csv-images"),
        new("csv-images with its file", s => { s.Training!.Dataset = "csv-images"; s.Training!.DataPath = "/data/fer2013.csv"; }, null),
        new("one class", s => s.Training!.NumClasses = 1, "spec.training.numClasses must be from 2 to 100000, not 1"),
        new("two channels", s => s.Training!.InChannels = 2, "spec.training.inChannels must be 1 (grayscale) or 3 (RGB), not 2"),
        new("tiny images", s => s.Training!.ImageSize = 4, "spec.training.imageSize must be from 8 to 4096, not 4"),
        new("unknown stem", s => s.Training!.Stem = "tiny", "spec.training.stem must be one of auto, imagenet, small, not 'tiny'"),
        new("a cnn without channels", s => { s.Training!.Model = "cnn"; s.Training!.CnnChannels = 0; }, "spec.training.cnnChannels must be from 1 to 512, not 0"),
        new("a cnn wider than the trainer's 512", s => { s.Training!.Model = "cnn"; s.Training!.CnnChannels = 513; }, "spec.training.cnnChannels must be from 1 to 512, not 513"),
        new("the widest cnn", s => { s.Training!.Model = "cnn"; s.Training!.CnnChannels = 512; }, null),
        new("a cnn width for the mlp", s => { s.Training!.Model = "mlp"; s.Training!.CnnChannels = 32; }, "spec.training.cnnChannels applies to model cnn only, not mlp: remove cnnChannels, or set model cnn"),
        new("a cnn width for a resnet", s => { s.Training!.Model = "resnet18"; s.Training!.CnnChannels = 16; }, "spec.training.cnnChannels applies to model cnn only, not resnet18"),
        new("negative crop padding", s => s.Training!.Augmentation = new AugmentationSpec { RandomCropPadding = -1 }, "spec.training.augmentation.randomCropPadding must be from 0 to 1024, not -1"),
        new("negative samples per class", s => s.Training!.MaxSamplesPerClass = -1, "spec.training.maxSamplesPerClass must be at least 0, not -1"),
        new("validation fraction of 1", s => s.Training!.ValidationFraction = 1, "spec.training.validationFraction must be from 0 (no validation split) to 0.9, not 1"),
        new("unknown loss", s => s.Training!.Loss = "hinge", "spec.training.loss must be one of cross-entropy, focal, not 'hinge'"),
        new("negative focal gamma", s => s.Training!.FocalGamma = -0.5, "spec.training.focalGamma must be from 0 to 100, not -0.5"),
        new("no loader workers", s => s.Training!.Loader = new LoaderSpec { Workers = 0 }, "spec.training.loader.workers must be from 1 to 256, not 0"),
        new("too much prefetch", s => s.Training!.Loader = new LoaderSpec { PrefetchBatches = 1025 }, "spec.training.loader.prefetchBatches must be from 1 to 1024, not 1025"),
        new("class weights in another case", s => s.Training!.ClassWeights = "Auto", "spec.training.classWeights 'Auto' is not allowed; allowed: none, auto (inverse class frequency), or one non-negative weight per class"),
        new("a negative class weight", s => s.Training!.ClassWeights = "1,-1", "spec.training.classWeights '1,-1' is not allowed"),
        new("a class weight beyond a double", s => s.Training!.ClassWeights = "1,1e999", "spec.training.classWeights '1,1e999' has the weight 1e999, which is not a finite number"),
        new("fewer weights than classes", s => { s.Training!.NumClasses = 3; s.Training!.ClassWeights = "1,2"; }, "spec.training.classWeights '1,2' has 2 weights but spec.training.numClasses is 3: give one weight per class"),
        new("a learning rate above the trainer's 10", s => s.Training!.LearningRate = 11, "spec.training.learningRate must be a positive number at most 10, not 11"),
        new("a full image job", s =>
        {
            s.Training = new TrainingSpec
            {
                Model = "resnet18", Dataset = "image-folder", DataPath = "/data/images", NumClasses = 3, InChannels = 3, ImageSize = 64, Stem = "small",
                Augmentation = new AugmentationSpec { RandomCropPadding = 4, HorizontalFlip = true }, Normalize = true, MaxSamplesPerClass = 0,
                ValidationFraction = 0.9, ClassWeights = "1,1,10", Loss = "focal", FocalGamma = 0, Loader = new LoaderSpec { Workers = 256, PrefetchBatches = 1 },
            };
        }, null),
    };

    /// <summary>The recipe's fields with OptionsParser's bounds and rules: each refusal names the field and the fix.</summary>
    public static TheoryData<PodFieldCase> RecipeFieldCases() => new()
    {
        new("an unknown schedule", s => s.Training!.Schedule = new ScheduleSpec { Type = "cyclic" }, "spec.training.schedule.type must be one of constant, step, multistep, exponential, cosine, linear, onecycle, not 'cyclic'"),
        new("negative warmup steps", s => s.Training!.Schedule = new ScheduleSpec { WarmupSteps = -1 }, "spec.training.schedule.warmupSteps must be from 0 to 2147483647, not -1"),
        new("warmup in steps and in epochs", s => s.Training!.Schedule = new ScheduleSpec { WarmupSteps = 100, WarmupEpochs = 1 }, "spec.training.schedule.warmupSteps and warmupEpochs are both set: give one of the two"),
        new("warmup with onecycle", s => s.Training!.Schedule = new ScheduleSpec { Type = "onecycle", WarmupSteps = 100 }, "spec.training.schedule.warmupSteps is not allowed with schedule.type onecycle, which warms up by itself: remove it, and set schedule.oneCycle.pctStart"),
        new("warmup epochs with onecycle", s => s.Training!.Schedule = new ScheduleSpec { Type = "onecycle", WarmupEpochs = 0.5 }, "spec.training.schedule.warmupEpochs is not allowed with schedule.type onecycle"),
        new("zero warmup with onecycle is none", s => s.Training!.Schedule = new ScheduleSpec { Type = "onecycle", WarmupSteps = 0, WarmupEpochs = 0 }, null),
        new("multistep without milestones", s => s.Training!.Schedule = new ScheduleSpec { Type = "multistep" }, "spec.training.schedule.milestones is required when schedule.type is multistep: give the epochs at which the learning rate drops, e.g. [30, 60, 90]"),
        new("multistep with an empty list", s => s.Training!.Schedule = new ScheduleSpec { Type = "multistep", Milestones = [] }, "spec.training.schedule.milestones is required when schedule.type is multistep"),
        new("milestones out of order", s => s.Training!.Schedule = new ScheduleSpec { Type = "multistep", Milestones = [60, 30] }, "spec.training.schedule.milestones [60, 30] must be increasing epochs from 0 to 100000, e.g. [30, 60, 90]"),
        new("a milestone twice", s => s.Training!.Schedule = new ScheduleSpec { Type = "multistep", Milestones = [30, 30] }, "spec.training.schedule.milestones [30, 30] must be increasing"),
        new("multistep with milestones", s => s.Training!.Schedule = new ScheduleSpec { Type = "multistep", Milestones = [0, 30, 100000], Gamma = 0.1 }, null),
        new("a gamma of 0", s => s.Training!.Schedule = new ScheduleSpec { Gamma = 0 }, "spec.training.schedule.gamma must be greater than 0 and at most 1, not 0"),
        new("a gamma above 1", s => s.Training!.Schedule = new ScheduleSpec { Gamma = 1.5 }, "spec.training.schedule.gamma must be greater than 0 and at most 1, not 1.5"),
        new("a step size of 0", s => s.Training!.Schedule = new ScheduleSpec { StepSize = 0 }, "spec.training.schedule.stepSize must be from 1 to 2147483647, not 0"),
        new("a minimum learning rate above 10", s => s.Training!.Schedule = new ScheduleSpec { MinLearningRate = 11 }, "spec.training.schedule.minLearningRate must be from 0 to 10, not 11"),
        new("pctStart of 1", s => s.Training!.Schedule = new ScheduleSpec { OneCycle = new OneCycleSpec { PctStart = 1 } }, "spec.training.schedule.oneCycle.pctStart must be greater than 0 and at most 0.999, not 1"),
        new("a divFactor of 0", s => s.Training!.Schedule = new ScheduleSpec { OneCycle = new OneCycleSpec { DivFactor = 0 } }, "spec.training.schedule.oneCycle.divFactor must be greater than 0"),
        new("base momentum above max momentum", s => s.Training!.Schedule = new ScheduleSpec { OneCycle = new OneCycleSpec { BaseMomentum = 0.95, MaxMomentum = 0.9 } }, "spec.training.schedule.oneCycle.baseMomentum (0.95) must be at most maxMomentum (0.9): lower baseMomentum or raise maxMomentum"),
        new("base momentum above the default max", s => s.Training!.Schedule = new ScheduleSpec { OneCycle = new OneCycleSpec { BaseMomentum = 0.97 } }, "spec.training.schedule.oneCycle.baseMomentum (0.97) must be at most maxMomentum (0.95, the trainer's default)"),
        new("max momentum below the default base", s => s.Training!.Schedule = new ScheduleSpec { OneCycle = new OneCycleSpec { MaxMomentum = 0.8 } }, "spec.training.schedule.oneCycle.baseMomentum (0.85, the trainer's default) must be at most maxMomentum (0.8)"),
        new("a momentum of 1", s => s.Training!.Momentum = 1, "spec.training.momentum must be from 0 to 0.999999, not 1"),
        new("a negative weight decay", s => s.Training!.WeightDecay = -0.1, "spec.training.weightDecay must be from 0 to 10, not -0.1"),
        new("a negative clip norm", s => s.Training!.GradClipNorm = -1, "spec.training.gradClipNorm must be from 0 to 1000000000, not -1"),
        new("no accumulation steps", s => s.Training!.GradAccumulationSteps = 0, "spec.training.gradAccumulationSteps must be from 1 to 100000, not 0"),
        new("a learning rate and the LR finder's", s => { s.Training!.LearningRate = 0.01; s.Training!.LrFinder = new LrFinderSpec { Auto = true }; }, "spec.training.learningRate and spec.training.lrFinder.auto are both set: remove learningRate (the LR finder chooses it), or set lrFinder.auto to false"),
        new("a learning rate with the LR finder off", s => { s.Training!.LearningRate = 0.01; s.Training!.LrFinder = new LrFinderSpec { Auto = false, Steps = 50 }; }, null),
        new("a sweep of 4 steps", s => s.Training!.LrFinder = new LrFinderSpec { Auto = true, Steps = 4 }, "spec.training.lrFinder.steps must be from 5 to 100000, not 4"),
        new("a sweep starting at 0", s => s.Training!.LrFinder = new LrFinderSpec { StartLearningRate = 0 }, "spec.training.lrFinder.startLearningRate must be greater than 0 and at most 10, not 0"),
        new("a sweep ending beyond 1000", s => s.Training!.LrFinder = new LrFinderSpec { EndLearningRate = 2000 }, "spec.training.lrFinder.endLearningRate must be greater than 0 and at most 1000, not 2000"),
        new("an unknown LR finder rule", s => s.Training!.LrFinder = new LrFinderSpec { Rule = "slide" }, "spec.training.lrFinder.rule must be one of steepest, minimum, valley, not 'slide'"),
        new("a negative mixup alpha", s => s.Training!.Mixing = new MixingSpec { MixupAlpha = -0.2 }, "spec.training.mixing.mixupAlpha must be from 0 to 100, not -0.2"),
        new("a CutMix alpha beyond 100", s => s.Training!.Mixing = new MixingSpec { CutmixAlpha = 101 }, "spec.training.mixing.cutmixAlpha must be from 0 to 100, not 101"),
        new("a mixing probability of 0", s => s.Training!.Mixing = new MixingSpec { Probability = 0 }, "spec.training.mixing.probability must be greater than 0 and at most 1, not 0"),
        new("mixing off for 1.5 epochs", s => s.Training!.Mixing = new MixingSpec { OffLastEpochs = 1.5 }, "spec.training.mixing.offLastEpochs must be a whole number of epochs, or a fraction of the epochs below 1, not 1.5"),
        new("mixing off for the last fifth", s => s.Training!.Mixing = new MixingSpec { MixupAlpha = 0.2, OffLastEpochs = 0.2 }, null),
        new("a label smoothing of 1", s => s.Training!.LabelSmoothing = 1, "spec.training.labelSmoothing must be from 0 to 0.999, not 1"),
        new("an EMA decay of 1", s => s.Training!.EmaDecay = 1, "spec.training.emaDecay must be from 0 to 0.999999, not 1"),
        new("a freeze prefix with a comma", s => s.Training!.Freeze = ["conv1,bn1"], "spec.training.freeze[0] 'conv1,bn1' is not a parameter name prefix: give one prefix per item, without commas or spaces"),
        new("an empty freeze prefix", s => s.Training!.Freeze = ["conv1", ""], "spec.training.freeze[1] '' is not a parameter name prefix"),
        new("an unknown best metric", s => s.Training!.Best = new BestSpec { Metric = "accuracy" }, "spec.training.best.metric must be one of val-accuracy, val-loss, none, not 'accuracy'"),
        new("an unknown best weights", s => s.Training!.Best = new BestSpec { Weights = "swa" }, "spec.training.best.weights must be one of raw, ema, not 'swa'"),
        new("best EMA weights without an EMA", s => s.Training!.Best = new BestSpec { Weights = "ema" }, "spec.training.best.weights ema needs an EMA: set spec.training.emaDecay (e.g. 0.999), or best.weights raw"),
        new("best EMA weights with an EMA decay of 0", s => { s.Training!.EmaDecay = 0; s.Training!.Best = new BestSpec { Weights = "ema" }; }, "spec.training.best.weights ema needs an EMA"),
        new("the whole recipe", s =>
        {
            s.Training = new TrainingSpec
            {
                Model = "cnn", Dataset = "fashion-mnist", DataPath = "/usr/share/datasets/fashion-mnist", Epochs = 10, BatchSize = 128, ValidationFraction = 0.1,
                Schedule = new ScheduleSpec { Type = "onecycle", OneCycle = new OneCycleSpec { PctStart = 0.25, DivFactor = 25, FinalDivFactor = 1e4, BaseMomentum = 0.85, MaxMomentum = 0.95 } },
                Momentum = 0.9, Nesterov = true, WeightDecay = 5e-4, GradClipNorm = 1, GradAccumulationSteps = 2,
                LrFinder = new LrFinderSpec { Auto = true, Steps = 100, StartLearningRate = 1e-7, EndLearningRate = 10 },
                Mixing = new MixingSpec { MixupAlpha = 0.2, CutmixAlpha = 1, Probability = 0.5, OffLastEpochs = 3 },
                LabelSmoothing = 0.1, EmaDecay = 0.999, Freeze = ["conv1"], Best = new BestSpec { Metric = "val-accuracy", Weights = "ema" },
            };
        }, null),
    };

    [Theory]
    [MemberData(nameof(RecipeFieldCases))]
    public void Validate_Should_RefuseWhatTheTrainerWouldRefuse_When_RecipeFieldsAreInvalid(PodFieldCase c)
    {
        var job = TrainingJobBuilder.Default().WithSpec(c.Change).Build();

        var errors = SpecValidator.Validate(job.Spec);

        if (c.Error is null)
        {
            Assert.Empty(errors);
        }
        else
        {
            Assert.StartsWith(c.Error, Assert.Single(errors), StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(TrainingFieldCases))]
    public void Validate_Should_RefuseWhatTheTrainerWouldRefuse_When_TrainingFieldsAreInvalid(PodFieldCase c)
    {
        var job = TrainingJobBuilder.Default().WithSpec(c.Change).Build();

        var errors = SpecValidator.Validate(job.Spec);

        if (c.Error is null)
        {
            Assert.Empty(errors);
        }
        else
        {
            Assert.StartsWith(c.Error, Assert.Single(errors), StringComparison.Ordinal);
        }
    }

    public static TheoryData<PodFieldCase> OpenPodCases() => new()
    {
        new("no training block", s => s.Training = null, null),
        new("a contract variable in env", s => s.Env = [new V1EnvVar { Name = "TRAINER_MODEL", Value = "cnn" }], "spec.env[0].name 'TRAINER_MODEL' is a trainer contract variable the operator sets itself; set it through its spec field"),
        new("the attempt variable in env", s => s.Env = [new V1EnvVar { Name = "X", Value = "1" }, new V1EnvVar { Name = "TRAINER_ATTEMPT", Value = "1" }], "spec.env[1].name 'TRAINER_ATTEMPT' is a trainer contract variable"),
        new("a trainer flag the spec does not map", s => s.Env = [new V1EnvVar { Name = "TRAINER_THREADS", Value = "2" }], null),
        new("the decay the spec now maps (schedule.gamma)", s => s.Env = [new V1EnvVar { Name = "TRAINER_LR_GAMMA", Value = "0.6" }], "spec.env[0].name 'TRAINER_LR_GAMMA' is a trainer contract variable the operator sets itself"),
        new("the checkpoint volume's name", s => s.Volumes = [new V1Volume { Name = "checkpoints", EmptyDir = new() }], "spec.volumes[0].name 'checkpoints' is the operator's checkpoint volume"),
        new("a volume without a name", s => s.Volumes = [new V1Volume { EmptyDir = new() }], "spec.volumes[0].name is required"),
        new("a volume name in upper case", s => s.Volumes = [new V1Volume { Name = "Data", EmptyDir = new() }], "spec.volumes[0].name 'Data' is not a valid name"),
        new("a volume twice", s => s.Volumes = [new V1Volume { Name = "data", EmptyDir = new() }, new V1Volume { Name = "data", EmptyDir = new() }], "spec.volumes[1].name 'data' is given twice"),
        new("a mount of no volume", s => s.VolumeMounts = [new V1VolumeMount { Name = "data", MountPath = "/data" }], "spec.volumeMounts[0].name 'data' names no volume in spec.volumes"),
        new("a mount over the checkpoint directory", s => { s.Volumes = [new V1Volume { Name = "data", EmptyDir = new() }]; s.VolumeMounts = [new V1VolumeMount { Name = "data", MountPath = WellKnown.CheckpointDirectory + "/" }]; }, "spec.volumeMounts[0].mountPath '/var/run/k8straining/checkpoints/' is the trainer's checkpoint directory"),
        new("a mount without a path", s => { s.Volumes = [new V1Volume { Name = "data", EmptyDir = new() }]; s.VolumeMounts = [new V1VolumeMount { Name = "data" }]; }, "spec.volumeMounts[0].mountPath is required"),
        new("a path mounted twice", s => { s.Volumes = [new V1Volume { Name = "a", EmptyDir = new() }, new V1Volume { Name = "b", EmptyDir = new() }]; s.VolumeMounts = [new V1VolumeMount { Name = "a", MountPath = "/data" }, new V1VolumeMount { Name = "b", MountPath = "/data" }]; }, "spec.volumeMounts[1].mountPath '/data' is mounted twice"),
        new("a pull secret without a name", s => s.ImagePullSecrets = [new V1LocalObjectReference()], "spec.imagePullSecrets[0].name is required"),
        new("an init container named trainer", s => s.InitContainers = [new V1Container { Name = "trainer", Image = "busybox" }], "spec.initContainers[0].name 'trainer' is the operator's trainer container"),
        new("a sidecar named trainer", s => s.Sidecars = [new V1Container { Name = "trainer", Image = "busybox" }], "spec.sidecars[0].name 'trainer' is the operator's trainer container"),
        new("an init container and a sidecar of one name", s => { s.InitContainers = [new V1Container { Name = "x", Image = "busybox" }]; s.Sidecars = [new V1Container { Name = "x", Image = "busybox" }]; }, "spec.sidecars[0].name 'x' is given twice"),
        new("an init container without an image", s => s.InitContainers = [new V1Container { Name = "fetch" }], "spec.initContainers[0].image is required"),
        new("an init container that restarts", s => s.InitContainers = [new V1Container { Name = "fetch", Image = "busybox", RestartPolicy = "Always" }], "spec.initContainers[0].restartPolicy must be unset: an init container runs to completion; put a container that runs beside the trainer in spec.sidecars"),
        new("a sidecar that never restarts", s => s.Sidecars = [new V1Container { Name = "sync", Image = "busybox", RestartPolicy = "Never" }], "spec.sidecars[0].restartPolicy must be unset or Always"),
        new("a sidecar on the metrics port", s => s.Sidecars = [new V1Container { Name = "sync", Image = "busybox", Ports = [new V1ContainerPort { ContainerPort = TrainingJobSpec.DefaultMetricsPort }] }], "spec.sidecars[0].ports[0] takes the trainer's metrics port"),
        new("a sidecar port named metrics", s => s.Sidecars = [new V1Container { Name = "sync", Image = "busybox", Ports = [new V1ContainerPort { Name = "metrics", ContainerPort = 9000 }] }], "spec.sidecars[0].ports[0] takes the trainer's metrics port"),
        new("a sidecar mounting the checkpoint volume", s => s.Sidecars = [new V1Container { Name = "sync", Image = "busybox", RestartPolicy = "Always", VolumeMounts = [new V1VolumeMount { Name = "checkpoints", MountPath = WellKnown.CheckpointDirectory }] }], null),
        new("a sidecar mounting no volume", s => s.Sidecars = [new V1Container { Name = "sync", Image = "busybox", VolumeMounts = [new V1VolumeMount { Name = "cache", MountPath = "/cache" }] }], "spec.sidecars[0].volumeMounts[0].name 'cache' names no volume in spec.volumes"),
        new("the operator's job label", s => s.PodMetadata = new PodMetadataSpec { Labels = new Dictionary<string, string> { [WellKnown.JobNameLabel] = "other" } }, "spec.podMetadata.labels['k8straining.io/job-name'] is a label the operator sets on its pods"),
        new("the managed-by label", s => s.PodMetadata = new PodMetadataSpec { Labels = new Dictionary<string, string> { [WellKnown.ManagedByLabel] = "me" } }, "spec.podMetadata.labels['app.kubernetes.io/managed-by'] is a label the operator sets on its pods"),
        new("a label value with a space", s => s.PodMetadata = new PodMetadataSpec { Labels = new Dictionary<string, string> { ["team"] = "a b" } }, "spec.podMetadata.labels['team'] value 'a b' is not a valid label value"),
        new("an annotation key with a space", s => s.PodMetadata = new PodMetadataSpec { Annotations = new Dictionary<string, string> { ["my note"] = "x" } }, "spec.podMetadata.annotations key 'my note' is not a valid key"),
        new("a full custom trainer", s =>
        {
            s.Training = null;
            s.Command = ["python", "train.py"];
            s.Args = [];
            s.Volumes = [new V1Volume { Name = "data", PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = "imagenet" } }];
            s.VolumeMounts = [new V1VolumeMount { Name = "data", MountPath = "/data" }];
            s.ImagePullSecrets = [new V1LocalObjectReference { Name = "registry" }];
            s.InitContainers = [new V1Container { Name = "fetch", Image = "busybox", VolumeMounts = [new V1VolumeMount { Name = "data", MountPath = "/data" }] }];
            s.Sidecars = [new V1Container { Name = "sync", Image = "busybox" }];
            s.PodMetadata = new PodMetadataSpec { Labels = new Dictionary<string, string> { ["team"] = "vision" }, Annotations = new Dictionary<string, string> { ["example.com/note"] = "free text, any characters" } };
        }, null),
    };

    [Theory]
    [MemberData(nameof(OpenPodCases))]
    public void Validate_Should_RefuseWhatTakesOverTheOperatorsPartOfThePod_When_TheOpenedFieldsCollide(PodFieldCase c)
    {
        var job = TrainingJobBuilder.Default().WithSpec(c.Change).Build();

        var errors = SpecValidator.Validate(job.Spec);

        if (c.Error is null)
        {
            Assert.Empty(errors);
        }
        else
        {
            Assert.StartsWith(c.Error, Assert.Single(errors), StringComparison.Ordinal);
        }
    }

    /// <summary>One row: a pod field the API server would refuse (or accept), and the error the operator gives first.</summary>
    public sealed record PodFieldCase(string Name, Action<TrainingJobSpec> Change, string? Error)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<PodFieldCase> PodFieldCases() => new()
    {
        new("env name with a space", s => s.Env = [new V1EnvVar { Name = "MY VAR", Value = "1" }], "spec.env[0].name 'MY VAR' is not a valid environment variable name"),
        new("env name starting with a digit", s => s.Env = [new V1EnvVar { Name = "1X", Value = "1" }], "spec.env[0].name '1X' is not a valid environment variable name"),
        new("env item without a name", s => s.Env = [new V1EnvVar()], "spec.env[0].name is required"),
        new("env names with dots and dashes", s => s.Env = [new V1EnvVar { Name = "my.var-1", Value = "1" }, new V1EnvVar { Name = "_X", Value = "" }], null),
        new("toleration operator", s => s.Tolerations = [new V1Toleration { Key = "gpu", OperatorProperty = "Maybe" }], "spec.tolerations[0].operator must be Exists or Equal, not 'Maybe'"),
        new("toleration effect", s => s.Tolerations = [new V1Toleration { Key = "gpu", OperatorProperty = "Exists", Effect = "NoWay" }], "spec.tolerations[0].effect must be NoSchedule, PreferNoSchedule or NoExecute, not 'NoWay'"),
        new("toleration Exists with a value", s => s.Tolerations = [new V1Toleration { Key = "gpu", OperatorProperty = "Exists", Value = "1" }], "spec.tolerations[0].value must be empty when the operator is Exists"),
        new("toleration seconds without NoExecute", s => s.Tolerations = [new V1Toleration { Key = "gpu", OperatorProperty = "Exists", Effect = "NoSchedule", TolerationSeconds = 30 }], "spec.tolerations[0].effect must be NoExecute when tolerationSeconds is set"),
        new("toleration with an empty key and Equal", s => s.Tolerations = [new V1Toleration { OperatorProperty = "Equal", Value = "x" }], "spec.tolerations[0].operator must be Exists when the key is empty"),
        new("toleration key not a qualified name", s => s.Tolerations = [new V1Toleration { Key = "bad key", OperatorProperty = "Exists" }], "spec.tolerations[0].key 'bad key' is not a valid key"),
        new("valid tolerations", s => s.Tolerations = [new V1Toleration { Key = "nvidia.com/gpu", OperatorProperty = "Exists", Effect = "NoSchedule" }, new V1Toleration { OperatorProperty = "Exists" }, new V1Toleration { Key = "spot", OperatorProperty = "Equal", Value = "true", Effect = "NoExecute", TolerationSeconds = 60 }], null),
        new("node selector key", s => s.NodeSelector = new Dictionary<string, string> { ["bad key"] = "x" }, "spec.nodeSelector key 'bad key' is not a valid key"),
        new("node selector key prefix", s => s.NodeSelector = new Dictionary<string, string> { ["Example.COM/gpu"] = "x" }, "spec.nodeSelector key 'Example.COM/gpu' has an invalid prefix"),
        new("node selector value", s => s.NodeSelector = new Dictionary<string, string> { ["gpu"] = "a b" }, "spec.nodeSelector['gpu'] value 'a b' is not a valid label value"),
        new("node selector value too long", s => s.NodeSelector = new Dictionary<string, string> { ["gpu"] = new string('a', 64) }, "spec.nodeSelector['gpu'] value"),
        new("valid node selector", s => s.NodeSelector = new Dictionary<string, string> { ["cloud.google.com/gke-spot"] = "true", ["empty"] = "" }, null),
        new("priority class not a DNS name", s => s.PriorityClassName = "High_Priority", "spec.priorityClassName 'High_Priority' is not a valid name"),
        new("service account not a DNS name", s => s.ServiceAccountName = "Trainer", "spec.serviceAccountName 'Trainer' is not a valid name"),
        new("valid names", s => { s.PriorityClassName = "training-low"; s.ServiceAccountName = "trainer.sa"; }, null),
        new("negative quantity", s => s.Resources = new V1ResourceRequirements { Limits = new Dictionary<string, ResourceQuantity> { ["memory"] = new("-1Gi") } }, "spec.resources.limits.memory must not be negative"),
        new("request above limit", s => s.Resources = new V1ResourceRequirements { Limits = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("1") }, Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("1500m") } }, "spec.resources.requests.cpu (1500m) must be less than or equal to spec.resources.limits.cpu (1)"),
        new("resource name not a qualified name", s => s.Resources = new V1ResourceRequirements { Limits = new Dictionary<string, ResourceQuantity> { ["my gpu"] = new("1") } }, "spec.resources.limits key 'my gpu' is not a valid key"),
        new("valid resources", s => s.Resources = new V1ResourceRequirements { Limits = new Dictionary<string, ResourceQuantity> { ["nvidia.com/gpu"] = new("1"), ["memory"] = new("4Gi") }, Requests = new Dictionary<string, ResourceQuantity> { ["memory"] = new("2Gi") } }, null),
    };

    [Theory]
    [MemberData(nameof(PodFieldCases))]
    public void Validate_Should_RefuseWhatTheApiServerWouldRefuse_When_PodFieldsAreInvalid(PodFieldCase c)
    {
        var job = TrainingJobBuilder.Default().WithSpec(c.Change).Build();

        var errors = SpecValidator.Validate(job.Spec);

        if (c.Error is null)
        {
            Assert.Empty(errors);
        }
        else
        {
            Assert.StartsWith(c.Error, Assert.Single(errors), StringComparison.Ordinal);
        }
    }
}
