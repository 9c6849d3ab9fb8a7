using System.Text.Json;
using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Pods;
using K8sTraining.Operator.Reconciliation;
using K8sTraining.Operator.Tests.Builders;
using k8s.Models;

namespace K8sTraining.Operator.Tests.Reconciliation;

/// <summary>spec.stages, spec.initFrom and what the trainer reports of them (status.stage, status.lineage): issue 16.</summary>
[Trait("Category", "Unit")]
public sealed class StagesAndFineTuningTests
{
    private static readonly DateTimeOffset Now = TrainingJobBuilder.T0.AddMinutes(5);

    public sealed record EnvCase(string Name, Action<TrainingJobSpec> Edit, AttemptInputs? Inputs, (string Name, string? Value)[] Expected)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<EnvCase> EnvCases() => new()
    {
        new("stages as camelCase JSON without nulls, and their epochs", s => s.Stages =
            [
                new StageSpec { Name = "small", Epochs = 2, ImageSize = 16, DataFraction = 0.5 },
                new StageSpec { Name = "full", Epochs = 1, Mixup = false, LrScale = 0.1, InitFrom = StageInitFromNames.BestOfPrevious, Schedule = new ScheduleSpec { Type = SchedulerNames.Cosine }, Freeze = ["conv1"], MaxDurationSeconds = 600 },
            ], null,
            [
                (TrainerEnvironment.Stages, """[{"name":"small","epochs":2,"dataFraction":0.5,"imageSize":16},{"name":"full","epochs":1,"lrScale":0.1,"schedule":{"type":"cosine"},"mixup":false,"freeze":["conv1"],"initFrom":"best-of-previous","maxDurationSeconds":600}]"""),
                (TrainerEnvironment.Epochs, "3"),
            ]),
        new("no stages, no stage variables", _ => { }, null, [(TrainerEnvironment.Stages, null), (TrainerEnvironment.Epochs, "2"), (TrainerEnvironment.ScheduleScope, null)]),
        new("the schedule scope", s => s.ScheduleScope = ScheduleScopeNames.Global, null, [(TrainerEnvironment.ScheduleScope, "global")]),
        new("lr scaled with the batch", s => s.Training!.ScaleLrWithBatch = true, null, [(TrainerEnvironment.ScaleLrWithBatch, "true")]),
        new("a fine-tune from a uri", s => s.InitFrom = new InitFromSpec { Uri = "s3://models/base", Checkpoint = "step-400", Optimizer = true }, null,
            [(TrainerEnvironment.InitFrom, "s3://models/base"), (TrainerEnvironment.InitCheckpoint, "step-400"), (TrainerEnvironment.InitOptimizer, "true")]),
        new("a fine-tune from a job, resolved", s => s.InitFrom = new InitFromSpec { TrainingJob = "base" }, new AttemptInputs(InitFromUri: "s3://k8straining/jobs/base"),
            [(TrainerEnvironment.InitFrom, "s3://k8straining/jobs/base"), (TrainerEnvironment.InitCheckpoint, null), (TrainerEnvironment.InitOptimizer, null)]),
        new("a fine-tune from a job, not resolved (a resume)", s => s.InitFrom = new InitFromSpec { TrainingJob = "base" }, null, [(TrainerEnvironment.InitFrom, null)]),
        new("reconfigure", _ => { }, new AttemptInputs(Reconfigure: true), [(TrainerEnvironment.Reconfigure, "true")]),
        new("no reconfigure", _ => { }, new AttemptInputs(), [(TrainerEnvironment.Reconfigure, null), (TrainerEnvironment.Deadline, null)]),
        new("the deadline in RFC 3339 UTC", _ => { }, new AttemptInputs(Deadline: new DateTimeOffset(2026, 11, 30, 23, 50, 7, TimeSpan.FromHours(1))), [(TrainerEnvironment.Deadline, "2026-11-30T22:50:07Z")]),
    };

    [Theory]
    [MemberData(nameof(EnvCases))]
    public void Build_Should_PassTheIssue16Variables_When_TheSpecSetsThem(EnvCase c)
    {
        var job = TrainingJobBuilder.Default().Build();
        c.Edit(job.Spec);

        var env = TrainerPodBuilder.Build(job, 1, c.Inputs).Spec.Containers.Single().Env;

        foreach (var (name, value) in c.Expected)
        {
            Assert.Equal(value, env.SingleOrDefault(e => e.Name == name)?.Value);
        }

        Assert.Equal(env.Count, env.Select(e => e.Name).Distinct().Count());
    }

    [Fact]
    public void StagesJson_Should_RoundTripIntoTheSpecsStages_When_ReadBack()
    {
        var spec = new TrainingJobSpec { Stages = [new StageSpec { Name = "a", Epochs = 1, BatchSize = 32, LearningRate = 0.1 }] };

        var back = JsonSerializer.Deserialize<List<StageSpec>>(TrainerPodBuilder.StagesJson(spec)!)!;

        Assert.Equal(("a", 1, (int?)32, (double?)0.1), (back[0].Name, back[0].Epochs, back[0].BatchSize, back[0].LearningRate));
    }

    public sealed record SourceCase(string Name, TrainingJob? Source, string? Uri, string? Reason)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<SourceCase> SourceCases() => new()
    {
        new("the source job with a checkpoint uri", TrainingJobBuilder.Default("base").Build(), "s3://k8straining/jobs/base", null),
        new("no such job", null, null, ConditionReasons.InitSourceNotFound),
        new("a source job without a checkpoint uri", TrainingJobBuilder.Default("base").WithoutRemoteCheckpoints().Build(), null, ConditionReasons.InitSourceWithoutCheckpoints),
    };

    [Theory]
    [MemberData(nameof(SourceCases))]
    public void Decide_Should_StartFromTheSourcesCheckpointsOrWait_When_InitFromNamesATrainingJob(SourceCase c)
    {
        var job = TrainingJobBuilder.Default("tuned").WithSpec(s => s.InitFrom = new InitFromSpec { TrainingJob = "base", Checkpoint = CheckpointSelectors.Best }).Build();
        var source = InitSource.Resolve(job, c.Source);

        var d = TrainingJobDecider.Decide(job, [], Now, init: source);

        var ready = Conditions.Find(d.Status.Conditions, ConditionTypes.InitSourceReady)!;
        Assert.Equal(c.Uri, Assert.Single(d.Actions.OfType<CreatePod>().DefaultIfEmpty(new CreatePod(0))).Inputs?.InitFromUri);
        Assert.Equal(c.Reason is null ? "True" : "False", ready.Status);
        Assert.NotEqual(JobPhases.Failed, d.Status.Phase);
        if (c.Reason is not null)
        {
            Assert.Equal(c.Reason, ready.Reason);
            Assert.Contains("default/base", ready.Message, StringComparison.Ordinal);
            Assert.Contains(d.Events, e => e is { Type: "Warning", Reason: EventReasons.InitSourceNotReady });
            Assert.NotNull(d.RequeueAfter);

            // Said once: the next look at the same problem adds no Event.
            job.Status = d.Status;
            Assert.DoesNotContain(TrainingJobDecider.Decide(job, [], Now.AddSeconds(15), init: source).Events, e => e.Reason == EventReasons.InitSourceNotReady);
        }
    }

    [Fact]
    public void Decide_Should_ShowTheStageAndTheLineage_When_TheTrainerReportsThem()
    {
        var job = TrainingJobBuilder.Default().InPhase(JobPhases.Running).WithSpec(s => s.Stages = [new StageSpec { Name = "a", Epochs = 1 }, new StageSpec { Name = "b", Epochs = 1 }, new StageSpec { Name = "c", Epochs = 1 }]).Build();
        var message = new TerminationMessage
        {
            Status = TerminationStatuses.Preempted,
            GlobalStep = 40,
            Epoch = 1,
            StepInEpoch = 4,
            Checkpoint = "s3://k8straining/jobs/mnist/step-000000000040",
            CheckpointUploaded = true,
            Stage = new StageReport("b", 1, 3),
            Lineage = new InitLineageReport("s3://k8straining/jobs/base", "s3://k8straining/jobs/base/step-000000000400", 400, ["fc2.weight", "fc2.bias"]),
        };

        var d = TrainingJobDecider.Decide(job, [PodBuilder.For(job, 1).Exited(75, message.ToJsonLine()).Build()], Now);

        Assert.Equal(("b", 1, 3), (d.Status.Stage?.Name, d.Status.Stage?.Index, d.Status.Stage?.Total));
        Assert.Equal(("s3://k8straining/jobs/base", (long?)400), (d.Status.Lineage?.Source, d.Status.Lineage?.GlobalStep));
        Assert.Equal(["fc2.weight", "fc2.bias"], d.Status.Lineage!.SkippedParameters!);
    }

    [Fact]
    public void Decide_Should_FollowTheStage_When_TheRunningTrainersGaugeSaysIt()
    {
        var job = TrainingJobBuilder.Default().InPhase(JobPhases.Running).WithSpec(s => s.Stages = [new StageSpec { Name = "a", Epochs = 1 }, new StageSpec { Name = "b", Epochs = 1 }]).Build();
        var report = new TrainerReport("mnist-attempt-1", new TrainingPosition(30, 1, 2), null, Stage: new TrainerStage(1, "b"));

        var d = TrainingJobDecider.Decide(job, [PodBuilder.For(job, 1).Running().Build()], Now, report);

        Assert.Equal(("b", 1, 2), (d.Status.Stage?.Name, d.Status.Stage?.Index, d.Status.Stage?.Total));
    }

    public sealed record StageNamesCase(string Name, string[]? Recorded, string[] Now, bool Refused)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<StageNamesCase> StageNamesCases() => new()
    {
        new("a stage added at the end", ["small", "full"], ["small", "full", "polish"], false),
        new("the same stages", ["small", "full"], ["small", "full"], false),
        new("a stage removed", ["small", "full"], ["small"], true),
        new("a stage inserted before", ["small", "full"], ["tiny", "small", "full"], true),
        new("a stage renamed", ["small", "full"], ["small", "large"], true),
        new("stages added to a run without", null, ["small"], false),
        new("all stages removed", ["small"], [], true),
    };

    [Theory]
    [MemberData(nameof(StageNamesCases))]
    public void FindInStages_Should_AllowOnlyStagesAddedAtTheEnd_When_CheckpointsExist(StageNamesCase c)
    {
        var change = TrainingChanges.FindInStages(c.Recorded, [.. c.Now.Select(n => new StageSpec { Name = n, Epochs = 1 })]);

        Assert.Equal(c.Refused, change is not null);
        if (change is not null)
        {
            Assert.Equal("spec.stages", change.Field);
        }
    }

    public sealed record ValidationCase(string Name, Action<TrainingJobSpec> Edit, string? Error)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<ValidationCase> ValidationCases() => new()
    {
        new("a valid curriculum", s => { s.Stages = [new StageSpec { Name = "a", Epochs = 1, DataFraction = 0.5 }, new StageSpec { Name = "b", Epochs = 2, InitFrom = StageInitFromNames.BestOfPrevious }]; s.ScheduleScope = ScheduleScopeNames.Global; }, null),
        new("a repeated stage name", s => s.Stages = [new StageSpec { Name = "a", Epochs = 1 }, new StageSpec { Name = "a", Epochs = 1 }], "spec.stages[1].name 'a' is used by an earlier stage"),
        new("a stage name that is no DNS label", s => s.Stages = [new StageSpec { Name = "Big_Stage", Epochs = 1 }], "spec.stages[0].name 'Big_Stage' is not a valid name"),
        new("no epochs", s => s.Stages = [new StageSpec { Name = "a", Epochs = 0 }], "spec.stages[0].epochs must be from 1 to 100000, not 0"),
        new("a data fraction above 1", s => s.Stages = [new StageSpec { Name = "a", Epochs = 1, DataFraction = 1.5 }], "spec.stages[0].dataFraction must be above 0 and at most 1, not 1.5"),
        new("an unknown stage init", s => s.Stages = [new StageSpec { Name = "a", Epochs = 1 }, new StageSpec { Name = "b", Epochs = 1, InitFrom = "random" }], "spec.stages[1].initFrom must be one of previous, best-of-previous, not 'random'"),
        new("an unknown schedule scope", s => s.ScheduleScope = "epoch", "spec.scheduleScope must be one of global, stage, not 'epoch'"),
        new("a fine-tune uri that is no s3 uri", s => s.InitFrom = new InitFromSpec { Uri = "/data/base" }, "spec.initFrom.uri must look like s3://bucket/prefix"),
        new("an unknown checkpoint selector", s => s.InitFrom = new InitFromSpec { TrainingJob = "base", Checkpoint = "newest" }, "spec.initFrom.checkpoint must be best, latest or step-N"),
        new("a step selector", s => s.InitFrom = new InitFromSpec { TrainingJob = "base", Checkpoint = "step-1200" }, null),
    };

    [Theory]
    [MemberData(nameof(ValidationCases))]
    public void Validate_Should_SayWhatIsWrongWithTheStagesOrTheFineTune_When_ItIs(ValidationCase c)
    {
        var job = TrainingJobBuilder.Default().Build();
        c.Edit(job.Spec);

        var errors = SpecValidator.Validate(job.Spec);

        if (c.Error is null)
        {
            Assert.Empty(errors);
            return;
        }

        Assert.StartsWith(c.Error, Assert.Single(errors), StringComparison.Ordinal);
    }
}
