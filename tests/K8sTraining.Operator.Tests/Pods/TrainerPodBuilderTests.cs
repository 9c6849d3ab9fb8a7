using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Pods;
using K8sTraining.Operator.Reconciliation;
using K8sTraining.Operator.Tests.Builders;
using k8s.Models;

namespace K8sTraining.Operator.Tests.Pods;

[Trait("Category", "Unit")]
public sealed class TrainerPodBuilderTests
{
    [Fact]
    public void Build_Should_GiveTheTrainerItsConfigurationAsEnvironment_When_BuildingAnAttempt()
    {
        var job = TrainingJobBuilder.Default().WithGracePeriod(45).WithTraining(t => t.LearningRate = 0.01).Build();

        var pod = TrainerPodBuilder.Build(job, 3);

        var env = pod.Spec.Containers.Single().Env.ToDictionary(e => e.Name, e => e.Value);
        Assert.Equal("mlp", env["TRAINER_MODEL"]);
        Assert.Equal("synthetic", env["TRAINER_DATASET"]);
        Assert.Equal("512", env["TRAINER_SAMPLES"]);
        Assert.Equal("2", env["TRAINER_EPOCHS"]);
        Assert.Equal("32", env["TRAINER_BATCH_SIZE"]);
        Assert.Equal("0.01", env["TRAINER_LR"]);
        Assert.Equal("7", env["TRAINER_SEED"]);
        Assert.Equal("s3://k8straining/jobs/mnist", env["TRAINER_CHECKPOINT_URI"]);
        Assert.Equal("10", env["TRAINER_CHECKPOINT_EVERY_STEPS"]);
        Assert.Equal("3", env["TRAINER_KEEP_CHECKPOINTS"]);
        // Unset spec.checkpoint.write leaves the trainer's default (background).
        Assert.False(env.ContainsKey("TRAINER_CHECKPOINT_WRITE"));
        Assert.Equal(WellKnown.CheckpointDirectory, env["TRAINER_CHECKPOINT_DIR"]);
        Assert.Equal(WellKnown.TerminationLog, env["TRAINER_TERMINATION_LOG"]);
        Assert.Equal("3", env["TRAINER_ATTEMPT"]);
        Assert.Equal("40", env["TRAINER_SHUTDOWN_TIMEOUT_SECONDS"]);
        Assert.Equal(45, pod.Spec.TerminationGracePeriodSeconds);
        Assert.Equal("s3-credentials", pod.Spec.Containers.Single().EnvFrom.Single().SecretRef.Name);
    }

    [Fact]
    public void Build_Should_PassTheCheckpointWriteMode_When_SpecCheckpointWriteIsSet()
    {
        var job = TrainingJobBuilder.Default().WithSpec(s => s.Checkpoint!.Write = "sync").Build();

        var env = TrainerPodBuilder.Build(job, 1).Spec.Containers.Single().Env.ToDictionary(e => e.Name, e => e.Value);

        Assert.Equal("sync", env["TRAINER_CHECKPOINT_WRITE"]);
    }

    /// <summary>One row: a spec.training field, and the TRAINER_* variable and value the trainer reads it as.</summary>
    public sealed record TrainingFieldCase(string Name, Action<TrainingSpec> Change, string Variable, string Value)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<TrainingFieldCase> TrainingFieldCases() => new()
    {
        new("numClasses", t => t.NumClasses = 7, TrainerEnvironment.NumClasses, "7"),
        new("inChannels", t => t.InChannels = 3, TrainerEnvironment.InChannels, "3"),
        new("imageSize", t => t.ImageSize = 48, TrainerEnvironment.ImageSize, "48"),
        new("stem", t => t.Stem = ResNetStems.Small, TrainerEnvironment.Stem, "small"),
        new("cnnChannels", t => { t.Model = ModelNames.Cnn; t.CnnChannels = 32; }, TrainerEnvironment.CnnChannels, "32"),
        new("augmentation.randomCropPadding", t => t.Augmentation = new AugmentationSpec { RandomCropPadding = 4 }, TrainerEnvironment.RandomCropPadding, "4"),
        new("augmentation.horizontalFlip true, as the parser spells it", t => t.Augmentation = new AugmentationSpec { HorizontalFlip = true }, TrainerEnvironment.HorizontalFlip, "true"),
        new("normalize false, as the parser spells it", t => t.Normalize = false, TrainerEnvironment.Normalize, "false"),
        new("maxSamplesPerClass", t => t.MaxSamplesPerClass = 500, TrainerEnvironment.MaxSamplesPerClass, "500"),
        new("validationFraction", t => t.ValidationFraction = 0.1, TrainerEnvironment.ValFraction, "0.1"),
        new("validationFraction 0 stays 0 (the parser's off)", t => t.ValidationFraction = 0, TrainerEnvironment.ValFraction, "0"),
        new("classWeights auto", t => t.ClassWeights = ClassWeightModes.Auto, TrainerEnvironment.ClassWeights, "auto"),
        new("classWeights list", t => t.ClassWeights = "1,1,10", TrainerEnvironment.ClassWeights, "1,1,10"),
        new("loss", t => t.Loss = LossNames.Focal, TrainerEnvironment.Loss, "focal"),
        new("focalGamma", t => t.FocalGamma = 1.5, TrainerEnvironment.FocalGamma, "1.5"),
        new("focalGamma 0 stays 0", t => t.FocalGamma = 0, TrainerEnvironment.FocalGamma, "0"),
        new("loader.workers", t => t.Loader = new LoaderSpec { Workers = 6 }, TrainerEnvironment.LoaderWorkers, "6"),
        new("loader.prefetchBatches", t => t.Loader = new LoaderSpec { PrefetchBatches = 8 }, TrainerEnvironment.PrefetchBatches, "8"),
        new("dataPath", t => { t.Dataset = DatasetNames.CsvImages; t.DataPath = "/data/fer2013.csv"; }, TrainerEnvironment.Data, "/data/fer2013.csv"),
        new("schedule.type", t => t.Schedule = new ScheduleSpec { Type = SchedulerNames.Cosine }, TrainerEnvironment.Scheduler, "cosine"),
        new("schedule.warmupSteps", t => t.Schedule = new ScheduleSpec { WarmupSteps = 500 }, TrainerEnvironment.WarmupSteps, "500"),
        new("schedule.warmupEpochs, a fraction", t => t.Schedule = new ScheduleSpec { WarmupEpochs = 0.5 }, TrainerEnvironment.WarmupEpochs, "0.5"),
        new("schedule.minLearningRate in the invariant culture", t => t.Schedule = new ScheduleSpec { MinLearningRate = 1e-6 }, TrainerEnvironment.MinLr, "1E-06"),
        new("schedule.gamma is the old per-epoch decay", t => t.Schedule = new ScheduleSpec { Gamma = 0.6 }, TrainerEnvironment.LrGamma, "0.6"),
        new("schedule.stepSize", t => t.Schedule = new ScheduleSpec { StepSize = 250 }, TrainerEnvironment.StepSize, "250"),
        new("schedule.milestones, comma-separated", t => t.Schedule = new ScheduleSpec { Milestones = [30, 60, 90] }, TrainerEnvironment.Milestones, "30,60,90"),
        new("schedule.oneCycle.pctStart", t => t.Schedule = new ScheduleSpec { OneCycle = new OneCycleSpec { PctStart = 0.25 } }, TrainerEnvironment.OneCyclePctStart, "0.25"),
        new("schedule.oneCycle.divFactor", t => t.Schedule = new ScheduleSpec { OneCycle = new OneCycleSpec { DivFactor = 10 } }, TrainerEnvironment.OneCycleDivFactor, "10"),
        new("schedule.oneCycle.finalDivFactor", t => t.Schedule = new ScheduleSpec { OneCycle = new OneCycleSpec { FinalDivFactor = 1000 } }, TrainerEnvironment.OneCycleFinalDivFactor, "1000"),
        new("schedule.oneCycle.baseMomentum", t => t.Schedule = new ScheduleSpec { OneCycle = new OneCycleSpec { BaseMomentum = 0.8 } }, TrainerEnvironment.BaseMomentum, "0.8"),
        new("schedule.oneCycle.maxMomentum", t => t.Schedule = new ScheduleSpec { OneCycle = new OneCycleSpec { MaxMomentum = 0.9 } }, TrainerEnvironment.MaxMomentum, "0.9"),
        new("momentum", t => t.Momentum = 0.95, TrainerEnvironment.Momentum, "0.95"),
        new("nesterov true, as the parser spells it", t => t.Nesterov = true, TrainerEnvironment.Nesterov, "true"),
        new("weightDecay", t => t.WeightDecay = 5e-4, TrainerEnvironment.WeightDecay, "0.0005"),
        new("weightDecay 0 stays 0", t => t.WeightDecay = 0, TrainerEnvironment.WeightDecay, "0"),
        new("gradClipNorm", t => t.GradClipNorm = 1, TrainerEnvironment.GradClipNorm, "1"),
        new("gradAccumulationSteps", t => t.GradAccumulationSteps = 4, TrainerEnvironment.GradAccumulationSteps, "4"),
        new("lrFinder.auto is --lr auto", t => t.LrFinder = new LrFinderSpec { Auto = true }, TrainerEnvironment.LearningRate, "auto"),
        new("lrFinder.steps", t => t.LrFinder = new LrFinderSpec { Steps = 200 }, TrainerEnvironment.LrFindSteps, "200"),
        new("lrFinder.startLearningRate", t => t.LrFinder = new LrFinderSpec { StartLearningRate = 1e-5 }, TrainerEnvironment.LrFindStart, "1E-05"),
        new("lrFinder.endLearningRate", t => t.LrFinder = new LrFinderSpec { EndLearningRate = 1 }, TrainerEnvironment.LrFindEnd, "1"),
        new("lrFinder.rule", t => t.LrFinder = new LrFinderSpec { Rule = LrFinderRuleNames.Minimum }, TrainerEnvironment.LrFindRule, "minimum"),
        new("mixing.mixupAlpha", t => t.Mixing = new MixingSpec { MixupAlpha = 0.2 }, TrainerEnvironment.MixupAlpha, "0.2"),
        new("mixing.cutmixAlpha", t => t.Mixing = new MixingSpec { CutmixAlpha = 1 }, TrainerEnvironment.CutMixAlpha, "1"),
        new("mixing.probability", t => t.Mixing = new MixingSpec { Probability = 0.5 }, TrainerEnvironment.MixProb, "0.5"),
        new("mixing.offLastEpochs in epochs", t => t.Mixing = new MixingSpec { OffLastEpochs = 3 }, TrainerEnvironment.MixOffLastEpochs, "3"),
        new("mixing.offLastEpochs as a fraction", t => t.Mixing = new MixingSpec { OffLastEpochs = 0.25 }, TrainerEnvironment.MixOffLastEpochs, "0.25"),
        new("labelSmoothing", t => t.LabelSmoothing = 0.1, TrainerEnvironment.LabelSmoothing, "0.1"),
        new("emaDecay", t => t.EmaDecay = 0.999, TrainerEnvironment.EmaDecay, "0.999"),
        new("freeze, comma-separated", t => t.Freeze = ["conv1", "bn1"], TrainerEnvironment.Freeze, "conv1,bn1"),
        new("best.metric", t => t.Best = new BestSpec { Metric = BestMetricNames.ValidationLoss }, TrainerEnvironment.BestMetric, "val-loss"),
        new("best.weights", t => t.Best = new BestSpec { Weights = BestWeightsNames.Raw }, TrainerEnvironment.BestWeights, "raw"),
    };

    [Theory]
    [InlineData("auto off", false, "0.01")]
    [InlineData("auto unset", null, "0.01")]
    public void Build_Should_PassTheLearningRate_When_TheLrFinderDoesNotChooseIt(string name, bool? auto, string expected)
    {
        var job = TrainingJobBuilder.Default().WithTraining(t => { t.LearningRate = 0.01; t.LrFinder = new LrFinderSpec { Auto = auto, Steps = 50 }; }).Build();

        var env = TrainerPodBuilder.Build(job, 1).Spec.Containers.Single().Env;

        Assert.True(expected == Assert.Single(env, e => e.Name == TrainerEnvironment.LearningRate).Value, name);
    }

    [Fact]
    public void Build_Should_LeaveTheListVariablesUnset_When_TheListsAreEmpty()
    {
        var job = TrainingJobBuilder.Default().WithTraining(t => { t.Freeze = []; t.Schedule = new ScheduleSpec { Milestones = [] }; }).Build();

        var env = TrainerPodBuilder.Build(job, 1).Spec.Containers.Single().Env;

        Assert.DoesNotContain(env, e => e.Name is TrainerEnvironment.Freeze or TrainerEnvironment.Milestones);
    }

    [Fact]
    public void Build_Should_SetEveryTrainingVariableTheContractDocuments_When_EveryTrainingFieldIsSet()
    {
        // docs/trainer-contract.md's table names, for each "training" variable, the spec field it comes from: a field
        // added to the table and the CRD but not mapped here would leave the trainer at its default without a word.
        var documented = File.ReadLines(Path.Combine(RepositoryPaths.Root, "docs", "trainer-contract.md"))
            .Select(l => System.Text.RegularExpressions.Regex.Match(l, @"^\| `(?<name>TRAINER_[A-Z0-9_]+)` \| training \|"))
            .Where(m => m.Success)
            .Select(m => m.Groups["name"].Value)
            .ToList();
        var job = TrainingJobBuilder.Default().WithTraining(t =>
        {
            foreach (var c in ((IEnumerable<object[]>)TrainingFieldCases()).Select(row => (TrainingFieldCase)row[0]))
            {
                c.Change(t);
            }

            // The cases above replace whole blocks; set every field of each block at once.
            t.Dataset = DatasetNames.FashionMnist;
            t.Augmentation = new AugmentationSpec { RandomCropPadding = 4, HorizontalFlip = true };
            t.Loader = new LoaderSpec { Workers = 2, PrefetchBatches = 2 };
            t.Schedule = new ScheduleSpec
            {
                Type = SchedulerNames.Step, WarmupSteps = 10, WarmupEpochs = 1, MinLearningRate = 0, Gamma = 0.5, StepSize = 10, Milestones = [1],
                OneCycle = new OneCycleSpec { PctStart = 0.3, DivFactor = 25, FinalDivFactor = 1e4, BaseMomentum = 0.85, MaxMomentum = 0.95 },
            };
            t.LrFinder = new LrFinderSpec { Auto = true, Steps = 100, StartLearningRate = 1e-7, EndLearningRate = 10, Rule = LrFinderRuleNames.Valley };
            t.Mixing = new MixingSpec { MixupAlpha = 0.2, CutmixAlpha = 1, Probability = 1, OffLastEpochs = 2 };
            t.Best = new BestSpec { Metric = BestMetricNames.ValidationAccuracy, Weights = BestWeightsNames.Ema };
            t.Samples = 100;
            t.Epochs = 3;
            t.BatchSize = 8;
            t.Optimizer = OptimizerNames.Sgd;
            t.Seed = 1;
            t.Model = ModelNames.Cnn;
            t.ScaleLrWithBatch = true;
        }).Build();

        var env = TrainerPodBuilder.Build(job, 1).Spec.Containers.Single().Env.Select(e => e.Name).ToHashSet();

        Assert.True(documented.Count > 50, $"the contract's table should list the training variables, found {documented.Count}");
        Assert.All(documented, v => Assert.True(env.Contains(v), $"{v} is documented as a training variable but no spec field sets it"));
    }

    [Theory]
    [MemberData(nameof(TrainingFieldCases))]
    public void Build_Should_PassTheTrainingFieldAsItsVariable_When_TheSpecSetsIt(TrainingFieldCase c)
    {
        var without = TrainerPodBuilder.Build(TrainingJobBuilder.Default().Build(), 1).Spec.Containers.Single().Env;
        var job = TrainingJobBuilder.Default().WithTraining(c.Change).Build();

        var env = TrainerPodBuilder.Build(job, 1).Spec.Containers.Single().Env;

        Assert.Equal(c.Value, Assert.Single(env, e => e.Name == c.Variable).Value);
        // Unset, the variable is absent: the trainer's own default applies, and an old job's pod does not change.
        Assert.DoesNotContain(without, e => e.Name == c.Variable);
    }

    [Fact]
    public void Build_Should_RenderThePodFieldByField_When_ACustomTrainerMountsAClaimWithPullSecretsAndACommand()
    {
        var job = TrainingJobBuilder.Default().WithSpec(s =>
        {
            s.Image = "registry.example.com/team/pytorch-trainer:3";
            s.Training = null;
            s.Command = ["python", "/app/train.py"];
            s.Args = ["--epochs", "3"];
            s.Volumes = [new V1Volume { Name = "data", PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = "imagenet", ReadOnlyProperty = true } }];
            s.VolumeMounts = [new V1VolumeMount { Name = "data", MountPath = "/data", ReadOnlyProperty = true }];
            s.ImagePullSecrets = [new V1LocalObjectReference { Name = "registry-credentials" }];
            s.InitContainers = [new V1Container { Name = "fetch", Image = "busybox:1.36", Command = ["sh", "-c", "true"] }];
            s.Sidecars = [new V1Container { Name = "sync", Image = "registry.example.com/checkpoint-sync:1", VolumeMounts = [new V1VolumeMount { Name = TrainerPodBuilder.CheckpointVolume, MountPath = "/ckpt" }] }];
            s.PodMetadata = new PodMetadataSpec
            {
                Labels = new Dictionary<string, string> { ["team"] = "vision" },
                Annotations = new Dictionary<string, string> { ["example.com/cost-center"] = "42" },
            };
        }).Build();

        var pod = TrainerPodBuilder.Build(job, 2);

        var trainer = pod.Spec.Containers.Single();
        Assert.Equal(WellKnown.TrainerContainer, trainer.Name);
        Assert.Equal("registry.example.com/team/pytorch-trainer:3", trainer.Image);
        Assert.Equal(["python", "/app/train.py"], trainer.Command);
        Assert.Equal(["--epochs", "3"], trainer.Args);
        Assert.Equal(
            [(TrainerPodBuilder.CheckpointVolume, WellKnown.CheckpointDirectory, (bool?)null), ("data", "/data", true)],
            trainer.VolumeMounts.Select(m => (m.Name, m.MountPath, m.ReadOnlyProperty)));
        Assert.Equal([TrainerPodBuilder.CheckpointVolume, "data"], pod.Spec.Volumes.Select(v => v.Name));
        Assert.NotNull(pod.Spec.Volumes[0].EmptyDir);
        Assert.Equal(("imagenet", (bool?)true), (pod.Spec.Volumes[1].PersistentVolumeClaim.ClaimName, pod.Spec.Volumes[1].PersistentVolumeClaim.ReadOnlyProperty));
        Assert.Equal(["registry-credentials"], pod.Spec.ImagePullSecrets.Select(r => r.Name));
        // Init containers in order, then each sidecar as a native sidecar, then (a custom trainer with a checkpoint uri:
        // spec.checkpoint.sync defaults to sidecar) the operator's checkpoint-sync sidecar.
        Assert.Equal([("fetch", (string?)null), ("sync", (string?)"Always"), (CheckpointSyncContract.ContainerName, (string?)"Always")], pod.Spec.InitContainers.Select(c => (c.Name, (string?)c.RestartPolicy)));
        Assert.Equal("/ckpt", pod.Spec.InitContainers[1].VolumeMounts.Single().MountPath);
        Assert.Null(job.Spec.Sidecars![0].RestartPolicy);
        Assert.Equal("vision", pod.Metadata.Labels["team"]);
        Assert.Equal("mnist", pod.Metadata.Labels[WellKnown.JobNameLabel]);
        Assert.Equal("42", pod.Metadata.Annotations["example.com/cost-center"]);
        // What the operator owns stays its own.
        Assert.Equal(("Never", (long?)30), (pod.Spec.RestartPolicy, pod.Spec.TerminationGracePeriodSeconds));
        Assert.Equal([WellKnown.TrackingFinalizer], pod.Metadata.Finalizers);
        Assert.Equal(job.Metadata.Uid, pod.Metadata.OwnerReferences.Single().Uid);
        Assert.Equal(TrainingJobSpec.DefaultMetricsPort, trainer.Ports.Single().ContainerPort);
        Assert.Empty(SpecValidator.Validate(job.Spec));
    }

    [Fact]
    public void Build_Should_SetOnlyTheContractsVariables_When_TheJobHasNoTrainingBlock()
    {
        var job = TrainingJobBuilder.Default().WithSpec(s =>
        {
            s.Training = null;
            s.Image = "registry.example.com/team/pytorch-trainer:3";
            s.Command = ["python", "/app/train.py"];
            // A custom trainer that syncs itself (without this, the checkpoint-sync sidecar gets the uri instead).
            s.Checkpoint!.Sync = CheckpointSyncModes.Trainer;
        }).Build();

        var env = TrainerPodBuilder.Build(job, 4).Spec.Containers.Single().Env.ToDictionary(e => e.Name, e => e.Value);

        string[] modelAndData =
        [
            TrainerEnvironment.Model, TrainerEnvironment.Dataset, TrainerEnvironment.Data, TrainerEnvironment.Samples, TrainerEnvironment.Epochs,
            TrainerEnvironment.BatchSize, TrainerEnvironment.LearningRate, TrainerEnvironment.Optimizer, TrainerEnvironment.Seed,
        ];
        Assert.All(modelAndData, name => Assert.False(env.ContainsKey(name), name));
        Assert.Equal(
            (WellKnown.CheckpointDirectory, "s3://k8straining/jobs/mnist", "4", "mnist", "default", "uid-mnist", "25"),
            (env[TrainerEnvironment.CheckpointDirectory], env[TrainerEnvironment.CheckpointUri], env[TrainerEnvironment.Attempt], env[TrainerEnvironment.JobName],
             env[TrainerEnvironment.JobNamespace], env[TrainerEnvironment.JobUid], env[TrainerEnvironment.ShutdownTimeoutSeconds]));
        Assert.Equal(WellKnown.TerminationLog, env[TrainerEnvironment.TerminationLog]);
    }

    [Theory]
    [InlineData("the built-in trainer by default", null, null, null, true, "train")]
    [InlineData("the built-in trainer with no training block", null, null, null, false, "train")]
    [InlineData("a derived image with a training block", "registry.example.com/trainer-images:1", null, null, true, "train")]
    [InlineData("a custom image without a training block runs its own CMD", "pytorch:2", null, null, false, null)]
    [InlineData("a command of its own takes no default args", null, "python train.py", null, true, null)]
    [InlineData("args are the user's", "pytorch:2", "python train.py", "--epochs 3", false, "--epochs 3")]
    [InlineData("args without a command replace the image's CMD", null, null, "train --threads 2", true, "train --threads 2")]
    public void Build_Should_ChooseTheTrainersArgs_When_TheSpecSaysThisMuch(string name, string? image, string? command, string? args, bool training, string? expected)
    {
        var job = TrainingJobBuilder.Default().WithSpec(s =>
        {
            s.Image = image;
            s.Command = command?.Split(' ');
            s.Args = args?.Split(' ');
            s.Training = training ? s.Training : null;
        }).Build();

        var container = TrainerPodBuilder.Build(job, 1).Spec.Containers.Single();

        Assert.True(expected == (container.Args is null ? null : string.Join(' ', container.Args)), $"{name}: args {(container.Args is null ? "unset" : string.Join(' ', container.Args))}");
        Assert.Equal(command, container.Command is null ? null : string.Join(' ', container.Command));
    }

    [Fact]
    public void Build_Should_LeaveThePodAsBefore_When_NoOpenedFieldIsSet()
    {
        var pod = TrainerPodBuilder.Build(TrainingJobBuilder.Default().Build(), 1);

        Assert.Null(pod.Spec.InitContainers);
        Assert.Null(pod.Spec.ImagePullSecrets);
        Assert.Null(pod.Metadata.Annotations);
        Assert.Null(pod.Spec.Containers.Single().Command);
        Assert.Equal(["train"], pod.Spec.Containers.Single().Args);
        Assert.Equal(6, pod.Metadata.Labels.Count);
    }

    [Fact]
    public void Build_Should_ExposeTheTrainerMetricsPort_When_TheSpecLeavesTheDefault()
    {
        var pod = TrainerPodBuilder.Build(TrainingJobBuilder.Default().Build(), 1);

        var container = pod.Spec.Containers.Single();
        var port = Assert.Single(container.Ports);
        Assert.Equal((WellKnown.MetricsPortName, TrainingJobSpec.DefaultMetricsPort, "TCP"), (port.Name, port.ContainerPort, port.Protocol));
        Assert.Equal("9464", container.Env.Single(e => e.Name == "TRAINER_METRICS_PORT").Value);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(9100)]
    public void Build_Should_FollowSpecMetricsPort_When_Set(int metricsPort)
    {
        var job = TrainingJobBuilder.Default().Build();
        job.Spec.MetricsPort = metricsPort;

        var container = TrainerPodBuilder.Build(job, 1).Spec.Containers.Single();

        if (metricsPort == 0)
        {
            Assert.Null(container.Ports);
            Assert.DoesNotContain(container.Env, e => e.Name == "TRAINER_METRICS_PORT");
        }
        else
        {
            Assert.Equal(metricsPort, Assert.Single(container.Ports).ContainerPort);
            Assert.Equal("9100", container.Env.Single(e => e.Name == "TRAINER_METRICS_PORT").Value);
        }
    }

    [Fact]
    public void Build_Should_MakeAPodTheJobOwnsAndTracks_When_BuildingAnAttempt()
    {
        var job = TrainingJobBuilder.Default().Build();

        var pod = TrainerPodBuilder.Build(job, 2);

        Assert.Equal("mnist-attempt-2", pod.Metadata.Name);
        Assert.Equal("default", pod.Metadata.NamespaceProperty);
        var owner = pod.Metadata.OwnerReferences.Single();
        Assert.True(owner.Controller);
        Assert.True(owner.BlockOwnerDeletion);
        Assert.Equal(job.Metadata.Uid, owner.Uid);
        Assert.Equal(TrainingJob.KubeKind, owner.Kind);
        Assert.Equal("mnist", pod.Metadata.Labels[WellKnown.JobNameLabel]);
        Assert.Equal("2", pod.Metadata.Labels[WellKnown.AttemptLabel]);
        Assert.Equal(WellKnown.ManagedBy, pod.Metadata.Labels[WellKnown.ManagedByLabel]);
        Assert.Contains(WellKnown.TrackingFinalizer, pod.Metadata.Finalizers);
        Assert.Equal("Never", pod.Spec.RestartPolicy);
        var container = pod.Spec.Containers.Single();
        Assert.Equal(WellKnown.TrainerContainer, container.Name);
        Assert.Equal(["train"], container.Args);
        Assert.Equal(TrainingJobSpec.DefaultImage, container.Image);
        Assert.Equal("FallbackToLogsOnError", container.TerminationMessagePolicy);
        Assert.Equal(WellKnown.CheckpointDirectory, container.VolumeMounts.Single().MountPath);
        Assert.NotNull(pod.Spec.Volumes.Single().EmptyDir);
    }

    [Fact]
    public void Build_Should_CarrySchedulingFields_When_TheSpecHasThem()
    {
        var job = TrainingJobBuilder.Default().WithSpec(s =>
        {
            s.NodeSelector = new Dictionary<string, string> { ["cloud.google.com/gke-spot"] = "true" };
            s.Tolerations = [new() { Key = "nvidia.com/gpu", OperatorProperty = "Exists", Effect = "NoSchedule" }];
            s.Resources = new() { Limits = new Dictionary<string, k8s.Models.ResourceQuantity> { ["nvidia.com/gpu"] = new("1") } };
            s.PriorityClassName = "training";
            s.ServiceAccountName = "trainer";
        }).Build();

        var pod = TrainerPodBuilder.Build(job, 1);

        Assert.Equal("true", pod.Spec.NodeSelector["cloud.google.com/gke-spot"]);
        // The user's tolerations first, then the two node-loss ones the operator always adds.
        Assert.Equal(["nvidia.com/gpu", WellKnown.NotReadyTaint, WellKnown.UnreachableTaint], pod.Spec.Tolerations.Select(t => t.Key));
        Assert.Equal("1", pod.Spec.Containers.Single().Resources.Limits["nvidia.com/gpu"].ToString());
        Assert.Equal("training", pod.Spec.PriorityClassName);
        Assert.Equal("trainer", pod.Spec.ServiceAccountName);
    }

    [Theory]
    [InlineData(null, 30)]
    [InlineData(0L, 0)]
    [InlineData(5L, 5)]
    public void Build_Should_TolerateNodeLossForNodeLossToleranceSeconds_When_BuildingAnAttempt(long? seconds, long expected)
    {
        var job = TrainingJobBuilder.Default().WithSpec(s => s.NodeLossToleranceSeconds = seconds).Build();

        var tolerations = TrainerPodBuilder.Build(job, 1).Spec.Tolerations;

        foreach (var key in new[] { WellKnown.NotReadyTaint, WellKnown.UnreachableTaint })
        {
            var t = Assert.Single(tolerations, t => t.Key == key);
            Assert.Equal(("Exists", "NoExecute", (long?)expected), (t.OperatorProperty, t.Effect, t.TolerationSeconds));
            Assert.Null(t.Value);
        }

        // What the API server's own validation asks of tolerations, so the create is never refused for them.
        Assert.Empty(SpecValidator.Validate(new TrainingJobSpec { Training = job.Spec.Training, Tolerations = tolerations.ToList() }));
    }

    [Fact]
    public void Build_Should_PassTheRestrictedPodSecurityProfile_When_TheSpecSaysNothing()
    {
        var pod = TrainerPodBuilder.Build(TrainingJobBuilder.Default().Build(), 1);

        var container = pod.Spec.Containers.Single().SecurityContext;
        Assert.False(container.AllowPrivilegeEscalation);
        Assert.Equal(["ALL"], container.Capabilities.Drop);
        Assert.True(container.RunAsNonRoot);
        Assert.Equal("RuntimeDefault", container.SeccompProfile.Type);
        Assert.Null(container.Privileged);
        Assert.True(pod.Spec.SecurityContext.RunAsNonRoot);
        Assert.Equal("RuntimeDefault", pod.Spec.SecurityContext.SeccompProfile.Type);
    }

    [Fact]
    public void Build_Should_UseTheUsersSecurityContexts_When_TheSpecSetsThem()
    {
        var job = TrainingJobBuilder.Default().WithSpec(s =>
        {
            s.SecurityContext = new k8s.Models.V1SecurityContext { RunAsUser = 2000, ReadOnlyRootFilesystem = true };
            s.PodSecurityContext = new k8s.Models.V1PodSecurityContext { FsGroup = 3000 };
        }).Build();

        var pod = TrainerPodBuilder.Build(job, 1);

        Assert.Equal(2000, pod.Spec.Containers.Single().SecurityContext.RunAsUser);
        Assert.True(pod.Spec.Containers.Single().SecurityContext.ReadOnlyRootFilesystem);
        Assert.Equal(3000, pod.Spec.SecurityContext.FsGroup);
        Assert.Null(pod.Spec.SecurityContext.RunAsNonRoot);
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData(false, null)]
    [InlineData(true, "true")]
    public void Build_Should_TellTheTrainerItsUidAndWhetherToAdopt_When_BuildingAnAttempt(bool? adopt, string? expected)
    {
        var job = TrainingJobBuilder.Default().WithSpec(s => s.Checkpoint!.Adopt = adopt).Build();

        var env = TrainerPodBuilder.Build(job, 1).Spec.Containers.Single().Env.ToDictionary(e => e.Name, e => e.Value);

        Assert.Equal("uid-mnist", env["TRAINER_JOB_UID"]);
        Assert.Equal(expected, env.GetValueOrDefault("TRAINER_CHECKPOINT_ADOPT"));
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Build_Should_SetOnlyVariablesTheContractNames_When_BuildingAnAttempt()
    {
        var job = TrainingJobBuilder.Default().WithSpec(s => s.Checkpoint!.Adopt = true).WithTraining(t => t.LearningRate = 0.01).Build();

        var names = TrainerPodBuilder.Build(job, 1).Spec.Containers.Single().Env.Select(e => e.Name).ToList();

        // The contract's trainer variables, and the PyTorchJob-style ones every pod gets (DistributedEnvironment, issue 18).
        var distributed = typeof(DistributedEnvironment).GetFields().Where(f => f.IsLiteral && f.FieldType == typeof(string)).Select(f => (string)f.GetRawConstantValue()!).ToList();
        Assert.All(names, n => Assert.Contains(n, TrainerEnvironment.All.Concat(distributed)));
        Assert.Equal(names.Count, names.Distinct(StringComparer.Ordinal).Count());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(12345)]
    public void ForAttempt_Should_StayAValidUniqueName_When_TheJobNameIsLong(int attempt)
    {
        var longName = new string('a', 60) + "-job";
        var other = new string('a', 60) + "-jobx";

        var name = PodNames.ForAttempt(longName, attempt);

        Assert.True(name.Length <= 63, name);
        Assert.EndsWith($"-attempt-{attempt}", name, StringComparison.Ordinal);
        Assert.Equal(name, PodNames.ForAttempt(longName, attempt));
        Assert.NotEqual(name, PodNames.ForAttempt(other, attempt));
        Assert.Matches("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", name);
        Assert.True(PodNames.LabelValue(longName + longName).Length <= 63);
    }
}
