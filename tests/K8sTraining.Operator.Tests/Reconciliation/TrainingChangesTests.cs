using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Reconciliation;
using K8sTraining.Operator.Tests.Builders;
using k8s.Models;

namespace K8sTraining.Operator.Tests.Reconciliation;

/// <summary>An edit of the training settings of a job with checkpoints is refused at once, not at the next preemption.</summary>
[Trait("Category", "Unit")]
public sealed class TrainingChangesTests
{
    private static readonly DateTimeOffset Now = TrainingJobBuilder.T0.AddMinutes(5);

    private static readonly CheckpointRecord Checkpoint = new() { GlobalStep = 120, Epoch = 0, StepInEpoch = 120, Location = "s3://k8straining/jobs/mnist/step-000000000120", Uploaded = true };

    public sealed record FieldCase(string Name, Action<TrainingSpec> Edit, string? Field, string? Old = null, string? New = null)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<FieldCase> FieldCases() => new()
    {
        new("a learning rate is taken on resume (reconfigured)", t => t.LearningRate = 0.05, null),
        new("model", t => t.Model = "cnn", "spec.training.model", "mlp", "cnn"),
        new("a batch size is taken on resume", t => t.BatchSize = 64, null),
        new("seed", t => t.Seed = 8, "spec.training.seed", "7", "8"),
        new("samples of the synthetic set are taken on resume", t => t.Samples = 1024, null),
        new("optimizer", t => t.Optimizer = "adamw", "spec.training.optimizer", "(unset)", "adamw"),
        new("class count", t => t.NumClasses = 7, "spec.training.numClasses", "(unset)", "7"),
        new("input channels", t => t.InChannels = 3, "spec.training.inChannels", "(unset)", "3"),
        new("image size", t => t.ImageSize = 64, "spec.training.imageSize", "(unset)", "64"),
        new("stem", t => t.Stem = "small", "spec.training.stem", "(unset)", "small"),
        new("crop padding", t => t.Augmentation = new AugmentationSpec { RandomCropPadding = 4 }, "spec.training.augmentation.randomCropPadding", "(unset)", "4"),
        new("horizontal flip", t => t.Augmentation = new AugmentationSpec { HorizontalFlip = true }, "spec.training.augmentation.horizontalFlip", "(unset)", "true"),
        new("normalisation", t => t.Normalize = false, "spec.training.normalize", "(unset)", "false"),
        new("limited mode", t => t.MaxSamplesPerClass = 100, "spec.training.maxSamplesPerClass", "(unset)", "100"),
        new("validation split", t => t.ValidationFraction = 0.2, "spec.training.validationFraction", "(unset)", "0.2"),
        new("class weights", t => t.ClassWeights = "auto", "spec.training.classWeights", "(unset)", "auto"),
        new("loss", t => t.Loss = "focal", "spec.training.loss", "(unset)", "focal"),
        new("focal gamma", t => t.FocalGamma = 3, "spec.training.focalGamma", "(unset)", "3"),
        new("a schedule is taken on resume (reconfigured)", t => t.Schedule = new ScheduleSpec { Type = "cosine" }, null),
        new("a decay is taken on resume (reconfigured)", t => t.Schedule = new ScheduleSpec { Gamma = 0.5 }, null),
        new("milestones are taken on resume (reconfigured)", t => t.Schedule = new ScheduleSpec { Milestones = [3, 6] }, null),
        new("one cycle's momentum is taken on resume (reconfigured)", t => t.Schedule = new ScheduleSpec { OneCycle = new OneCycleSpec { BaseMomentum = 0.8 } }, null),
        new("a momentum is taken on resume (reconfigured)", t => t.Momentum = 0.8, null),
        new("a weight decay is taken on resume (reconfigured)", t => t.WeightDecay = 0.01, null),
        new("gradient clipping", t => t.GradClipNorm = 1, "spec.training.gradClipNorm", "(unset)", "1"),
        new("gradient accumulation", t => t.GradAccumulationSteps = 2, "spec.training.gradAccumulationSteps", "(unset)", "2"),
        new("the LR finder", t => t.LrFinder = new LrFinderSpec { Auto = true }, "spec.training.lrFinder.auto", "(unset)", "true"),
        new("the LR finder's rule", t => t.LrFinder = new LrFinderSpec { Rule = "minimum" }, "spec.training.lrFinder.rule", "(unset)", "minimum"),
        new("mixup", t => t.Mixing = new MixingSpec { MixupAlpha = 0.2 }, "spec.training.mixing.mixupAlpha", "(unset)", "0.2"),
        new("label smoothing", t => t.LabelSmoothing = 0.1, "spec.training.labelSmoothing", "(unset)", "0.1"),
        new("EMA", t => t.EmaDecay = 0.999, "spec.training.emaDecay", "(unset)", "0.999"),
        new("frozen layers", t => t.Freeze = ["conv1", "bn1"], "spec.training.freeze", "(unset)", "conv1,bn1"),
        new("another best metric is fine (it decides no step)", t => t.Best = new BestSpec { Metric = "val-loss" }, null),
        new("more loader workers are fine", t => t.Loader = new LoaderSpec { Workers = 8, PrefetchBatches = 4 }, null),
        new("more epochs are fine", t => t.Epochs = 5, null),
        new("another data path is fine", t => t.DataPath = "/data/elsewhere", null),
        new("nothing changed", _ => { }, null),
    };

    [Theory]
    [MemberData(nameof(FieldCases))]
    public void Decide_Should_RefuseTheEditAtOnceAndLeaveTheRunningAttempt_When_TrainingChangesOnAJobWithCheckpoints(FieldCase c)
    {
        var job = RunningWithCheckpoint();
        c.Edit(job.Spec.Training!);
        job.Metadata.Generation = 2;

        var d = TrainingJobDecider.Decide(job, [PodBuilder.For(job, 1).Running().Build()], Now);

        var specValid = Conditions.Find(d.Status.Conditions, ConditionTypes.SpecValid)!;
        Assert.Equal(JobPhases.Running, d.Status.Phase);
        Assert.Empty(d.Actions);
        if (c.Field is null)
        {
            Assert.Equal("True", specValid.Status);
            Assert.Empty(d.Events);
            return;
        }

        Assert.Equal(("False", ConditionReasons.TrainingChangedWithCheckpoints), (specValid.Status, specValid.Reason));
        Assert.StartsWith($"{c.Field} changed from {c.Old} to {c.New}", specValid.Message, StringComparison.Ordinal);
        Assert.Contains("fresh spec.checkpoint.uri", specValid.Message, StringComparison.Ordinal);
        var e = Assert.Single(d.Events);
        Assert.Equal(("Warning", EventReasons.TrainingChangedWithCheckpoints), (e.Type, e.Reason));
        Assert.Contains(c.Field, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("set on a cnn of the default width", null, 32, "(unset)", "32")]
    [InlineData("widened", 32, 64, "32", "64")]
    [InlineData("removed", 32, null, "32", "(unset)")]
    public void Decide_Should_RefuseANewCnnWidth_When_TheCnnHasCheckpoints(string name, int? recorded, int? edited, string old, string now)
    {
        var job = RunningWithCheckpoint();
        job.Spec.Training!.Model = job.Status!.CheckpointedTraining!.Training!.Model = ModelNames.Cnn;
        job.Spec.Training.CnnChannels = job.Status.CheckpointedTraining.Training.CnnChannels = recorded;
        job.Spec.Training.CnnChannels = edited;
        job.Metadata.Generation = 2;

        var d = TrainingJobDecider.Decide(job, [PodBuilder.For(job, 1).Running().Build()], Now);

        var specValid = Conditions.Find(d.Status.Conditions, ConditionTypes.SpecValid)!;
        Assert.True(specValid.Reason == ConditionReasons.TrainingChangedWithCheckpoints, $"{name}: {specValid.Reason} {specValid.Message}");
        Assert.StartsWith($"spec.training.cnnChannels changed from {old} to {now}", specValid.Message, StringComparison.Ordinal);
        Assert.Empty(d.Actions);
    }

    [Theory]
    [InlineData("onecycle spans the run", "onecycle", null, true)]
    [InlineData("cosine spans the run", "cosine", null, true)]
    [InlineData("mixing stops before the end", null, 1.0, true)]
    [InlineData("a step schedule does not", "step", null, false)]
    public void Decide_Should_TakeMoreEpochsAndReconfigureTheSchedule_When_TheScheduleOrTheMixingSpansTheRun(string name, string? schedule, double? mixOff, bool reconfigure)
    {
        var job = RunningWithCheckpoint();
        foreach (var t in new[] { job.Spec.Training!, job.Status!.CheckpointedTraining!.Training! })
        {
            t.Schedule = schedule is null ? null : new ScheduleSpec { Type = schedule };
            t.Mixing = mixOff is null ? null : new MixingSpec { MixupAlpha = 0.2, OffLastEpochs = mixOff };
        }

        job.Spec.Training!.Epochs = 5;
        job.Metadata.Generation = 2;

        var d = TrainingJobDecider.Decide(job, [PodBuilder.For(job, 1).Running().Build()], Now);

        var specValid = Conditions.Find(d.Status.Conditions, ConditionTypes.SpecValid)!;
        Assert.True(specValid.Status == "True", $"{name}: {specValid.Message}");
        Assert.True(reconfigure == TrainingChanges.NeedsReconfigure(job.Status.CheckpointedTraining.Training, job.Spec.Training), name);
    }

    [Fact]
    public void Decide_Should_RecordTheRecipeOfTheCheckpoints_When_AnAttemptStartsFromTheBeginning()
    {
        var job = TrainingJobBuilder.Default().WithTraining(t =>
        {
            t.Schedule = new ScheduleSpec { Type = "onecycle", Milestones = [2], OneCycle = new OneCycleSpec { PctStart = 0.25 } };
            t.LrFinder = new LrFinderSpec { Auto = true };
            t.Mixing = new MixingSpec { MixupAlpha = 0.2, OffLastEpochs = 1 };
            t.EmaDecay = 0.999;
            t.Freeze = ["conv1"];
        }).Build();

        var recorded = TrainingJobDecider.Decide(job, [], Now).Status.CheckpointedTraining!.Training!;
        job.Spec.Training!.Freeze!.Add("bn1");
        job.Spec.Training!.Schedule!.Milestones!.Add(3);

        Assert.Equal(("onecycle", 0.25, (bool?)true, 1.0, 0.999), (recorded.Schedule?.Type, recorded.Schedule?.OneCycle?.PctStart, recorded.LrFinder?.Auto, recorded.Mixing?.OffLastEpochs, recorded.EmaDecay));
        // A copy: the record does not follow later edits of the spec's lists.
        Assert.Equal(["conv1"], recorded.Freeze!);
        Assert.Equal([2], recorded.Schedule!.Milestones!);
    }

    [Fact]
    public void Decide_Should_CreateNoReplacementFromTheEditedSpec_When_TheAttemptIsPreempted()
    {
        var job = RunningWithCheckpoint();
        job.Spec.Training!.Seed = 8;
        job.Metadata.Generation = 2;
        job.Status = TrainingJobDecider.Decide(job, [PodBuilder.For(job, 1).Running().Build()], Now).Status;

        var d = TrainingJobDecider.Decide(job, [PodBuilder.For(job, 1).Disrupted("EvictionByEvictionAPI").Checkpointed(150, 0, 150).Deleting().Build()], Now.AddMinutes(1));

        Assert.DoesNotContain(d.Actions, a => a is CreatePod);
        Assert.Equal((JobPhases.Restarting, 1), (d.Status.Phase, d.Status.Preemptions));
        Assert.Equal(ConditionReasons.TrainingChangedWithCheckpoints, Conditions.Find(d.Status.Conditions, ConditionTypes.Running)?.Reason);
        Assert.Equal([EventReasons.Preempted], d.Events.Select(e => e.Reason).ToArray());

        // The revert clears the condition and the replacement starts from the checkpoint.
        job.Status = d.Status;
        job.Spec.Training!.Seed = 7;
        job.Metadata.Generation = 3;
        var reverted = TrainingJobDecider.Decide(job, [PodBuilder.For(job, 1).Checkpointed(150, 0, 150).WithoutFinalizer().Build()], Now.AddMinutes(2));

        Assert.Equal("True", Conditions.Find(reverted.Status.Conditions, ConditionTypes.SpecValid)?.Status);
        Assert.Contains(reverted.Actions, a => a is CreatePod { Attempt: 2 });
        Assert.Equal([EventReasons.SpecValid, EventReasons.AttemptCreated], reverted.Events.Select(e => e.Reason).ToArray());
    }

    [Fact]
    public void Decide_Should_AcceptTheEdit_When_TheCheckpointUriChangesToo()
    {
        var job = RunningWithCheckpoint();
        job.Spec.Training!.LearningRate = 0.05;
        job.Spec.Checkpoint!.Uri = "s3://k8straining/jobs/mnist-v2";

        var d = TrainingJobDecider.Decide(job, [PodBuilder.For(job, 1).Running().Build()], Now);

        Assert.Equal("True", Conditions.Find(d.Status.Conditions, ConditionTypes.SpecValid)?.Status);
    }

    [Fact]
    public void Decide_Should_RecordTheTrainingOfTheCheckpoints_When_AnAttemptStartsFromTheBeginning()
    {
        var job = TrainingJobBuilder.Default().WithTraining(t => t.LearningRate = 0.01).Build();

        var d = TrainingJobDecider.Decide(job, [], Now);

        Assert.Equal("s3://k8straining/jobs/mnist", d.Status.CheckpointedTraining?.Uri);
        Assert.Equal(0.01, d.Status.CheckpointedTraining?.Training?.LearningRate);
        Assert.Equal(7, d.Status.CheckpointedTraining?.Training?.Seed);
    }

    /// <summary>One row: how the job failed and what changed since; whether it runs again.</summary>
    public sealed record RevivalCase(string Name, string FailedReason, string LastMessage, Action<TrainingJob> Change, bool Revives)
    {
        public override string ToString() => Name;
    }

    private const string Differs = "trainer rejected its configuration (exit 2): --seed: '8' differs from '7' in checkpoint /var/run/k8straining/checkpoints/step-000000000120; resume with --seed 7 or use another --checkpoint-dir";

    public static TheoryData<RevivalCase> RevivalCases() => new()
    {
        new("training reverted after a differs failure", ConditionReasons.ConfigurationError, Differs, j => { j.Spec.Training!.Seed = 7; j.Metadata.Generation = 3; }, true),
        new("new uri after a differs failure", ConditionReasons.ConfigurationError, Differs, j => { j.Spec.Checkpoint!.Uri = "s3://k8straining/jobs/fresh"; j.Metadata.Generation = 3; }, true),
        new("still different after a differs failure", ConditionReasons.ConfigurationError, Differs, j => { j.Spec.Training!.Seed = 9; j.Metadata.Generation = 3; }, false),
        new("a learning rate a resume now takes after a differs failure", ConditionReasons.ConfigurationError, Differs, j => { j.Spec.Training!.Seed = 7; j.Spec.Training!.LearningRate = 0.07; j.Metadata.Generation = 3; }, true),
        new("no spec change after a differs failure", ConditionReasons.ConfigurationError, Differs, _ => { }, false),
        new("other configuration errors stay failed", ConditionReasons.ConfigurationError, "trainer rejected its configuration (exit 2): --epochs must be >= 1", j => j.Metadata.Generation = 3, false),
        new("adopt set after the prefix was in use", ConditionReasons.CheckpointPrefixInUse, "in use", j => { j.Spec.Training!.LearningRate = 0.01; j.Spec.Training!.Seed = 7; j.Spec.Checkpoint!.Adopt = true; j.Metadata.Generation = 3; }, true),
        new("no spec change after the prefix was in use", ConditionReasons.CheckpointPrefixInUse, "in use", _ => { }, false),
        new("max restarts stays failed", ConditionReasons.MaxRestartsExceeded, "exit 1", j => j.Metadata.Generation = 3, false),
    };

    [Theory]
    [MemberData(nameof(RevivalCases))]
    public void Decide_Should_RunAFailedJobAgain_When_TheSpecChangeCuresWhatFailedIt(RevivalCase c)
    {
        var job = TrainingJobBuilder.Default().WithTraining(t => { t.LearningRate = 0.05; t.Seed = 8; }).Build();
        job.Metadata.Generation = 2;
        job.Status = new TrainingJobStatus
        {
            Phase = JobPhases.Failed,
            Attempt = 2,
            ResumeFrom = Checkpoint,
            CompletionTime = Now.AddMinutes(-1).UtcDateTime,
            CheckpointedTraining = new CheckpointedTraining { Uri = "s3://k8straining/jobs/mnist", Training = new TrainingSpec { Model = "mlp", Dataset = "synthetic", Samples = 512, Epochs = 2, BatchSize = 32, Seed = 7, LearningRate = 0.01 } },
            LastTermination = new TerminationRecord { Attempt = 2, Outcome = AttemptOutcomes.ConfigurationError, Message = c.LastMessage, ExitCode = 2 },
            Conditions = [],
        };
        Conditions.Set(job.Status.Conditions, ConditionTypes.Failed, true, c.FailedReason, c.LastMessage, 2, Now.AddMinutes(-1));
        c.Change(job);

        var d = TrainingJobDecider.Decide(job, [], Now);

        Assert.Equal(c.Revives, d.Actions.Any(a => a is CreatePod { Attempt: 3 }));
        Assert.Equal(c.Revives ? JobPhases.Restarting : JobPhases.Failed, d.Status.Phase);
        Assert.Equal(c.Revives ? "False" : "True", Conditions.Find(d.Status.Conditions, ConditionTypes.Failed)?.Status);
        Assert.Equal(c.Revives, d.Events.Any(e => e.Reason == EventReasons.Revived));
        if (c.Revives)
        {
            Assert.Null(d.Status.CompletionTime);
        }
    }

    private static TrainingJob RunningWithCheckpoint()
    {
        var job = TrainingJobBuilder.Default().InPhase(JobPhases.Running).WithStatus(s =>
        {
            s.ActivePod = "mnist-attempt-1";
            s.LastCheckpoint = Checkpoint;
            s.ResumeFrom = Checkpoint;
        }).Build();
        job.Status!.CheckpointedTraining = new CheckpointedTraining { Uri = job.Spec.Checkpoint!.Uri, Training = Copy(job.Spec.Training!) };
        job.Status.Conditions = [new V1Condition { Type = ConditionTypes.SpecValid, Status = "True", Reason = ConditionReasons.Valid, Message = "the spec is valid", LastTransitionTime = TrainingJobBuilder.T0.UtcDateTime }];
        return job;
    }

    private static TrainingSpec Copy(TrainingSpec t) => new() { Model = t.Model, Dataset = t.Dataset, Samples = t.Samples, Epochs = t.Epochs, BatchSize = t.BatchSize, Seed = t.Seed, LearningRate = t.LearningRate, Optimizer = t.Optimizer };
}
