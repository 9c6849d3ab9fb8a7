using K8sTraining.Contract;
using K8sTraining.Training.Loop;
using K8sTraining.Training.Options;
using K8sTraining.Training.Stages;

namespace K8sTraining.Trainer.Tests.Unit.Stages;

[Trait("Category", "Unit")]
public sealed class StageGuardsTests
{
    private const string ThreeStages = """[{"name":"a","epochs":2},{"name":"b","epochs":2,"lrScale":0.5},{"name":"c","epochs":1}]""";

    private static TrainerOptions Options(string? stages, string scope = ScheduleScopeNames.Stage) =>
        OptionsParser.Parse(stages is null ? [] : ["--stages", stages, "--schedule-scope", scope], _ => null);

    private static TrainingState Saved(string? stages, int? stage, string scope = ScheduleScopeNames.Stage)
    {
        var options = Options(stages, scope);
        return new TrainingState
        {
            Configuration = TrainingConfiguration.From(options),
            Stages = options.Stages,
            ScheduleScope = stages is null ? null : scope,
            Stage = stage,
        };
    }

    [Theory]
    [InlineData("the same stages", ThreeStages, ThreeStages, 1, ScheduleScopeNames.Stage, null)]
    [InlineData("a later stage changed", ThreeStages, """[{"name":"a","epochs":2},{"name":"b","epochs":2,"lrScale":0.5},{"name":"c","epochs":3}]""", 1, ScheduleScopeNames.Stage, null)]
    [InlineData("a stage added", ThreeStages, """[{"name":"a","epochs":2},{"name":"b","epochs":2,"lrScale":0.5},{"name":"c","epochs":1},{"name":"d","epochs":1}]""", 2, ScheduleScopeNames.Stage, null)]
    [InlineData("the current stage's time limit raised", """[{"name":"a","epochs":2},{"name":"b","epochs":2,"lrScale":0.5,"maxDurationSeconds":60},{"name":"c","epochs":1}]""", """[{"name":"a","epochs":2},{"name":"b","epochs":2,"lrScale":0.5,"maxDurationSeconds":600},{"name":"c","epochs":1}]""", 1, ScheduleScopeNames.Stage, null)]
    [InlineData("the current stage changed", ThreeStages, """[{"name":"a","epochs":2},{"name":"b","epochs":2},{"name":"c","epochs":1}]""", 1, ScheduleScopeNames.Stage, "--stages: stages[1] is")]
    [InlineData("an earlier stage changed", ThreeStages, """[{"name":"a","epochs":3},{"name":"b","epochs":2,"lrScale":0.5},{"name":"c","epochs":1}]""", 2, ScheduleScopeNames.Stage, "--stages: stages[0] is")]
    [InlineData("a later stage changed under one global schedule", ThreeStages, """[{"name":"a","epochs":2},{"name":"b","epochs":2,"lrScale":0.5},{"name":"c","epochs":3}]""", 0, ScheduleScopeNames.Global, "--stages: stages[2] is")]
    [InlineData("stages added to a run without", null, ThreeStages, null, ScheduleScopeNames.Stage, "--stages: checkpoint /ck was trained without stages")]
    [InlineData("stages removed", ThreeStages, null, 0, ScheduleScopeNames.Stage, "--stages: checkpoint /ck was trained with 3 stage(s)")]
    public void RequireCompatible_Should_RefuseOnlyAChangeToTheRunsPast_When_Resuming(string name, string? saved, string? now, int? stage, string scope, string? error)
    {
        var options = Options(now, scope);
        var act = () => StageGuards.RequireCompatible(StagePlan.From(options), options, Saved(saved, stage, scope), "/ck");
        if (error is null)
        {
            act();
            return;
        }
        var e = Assert.Throws<ConfigurationMismatchException>(act);
        Assert.True(e.Message.StartsWith(error, StringComparison.Ordinal), $"{name}: {e.Message}");
    }

    [Fact]
    public void RequireCompatible_Should_Refuse_When_TheScheduleScopeChanged()
    {
        var options = Options(ThreeStages, ScheduleScopeNames.Global);
        var e = Assert.Throws<ConfigurationMismatchException>(() => StageGuards.RequireCompatible(StagePlan.From(options), options, Saved(ThreeStages, 0), "/ck"));
        Assert.StartsWith("--schedule-scope: 'global' differs from 'stage'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a best metric", BestMetricNames.ValidationAccuracy, false)]
    [InlineData("no best metric", null, true)]
    public void RequireBestForBestOfPrevious_Should_Refuse_When_TheRunKeepsNoBest(string name, string? metric, bool refused)
    {
        var plan = StagePlan.From(Options("""[{"name":"a","epochs":1},{"name":"b","epochs":1,"initFrom":"best-of-previous"}]"""));
        var e = Record.Exception(() => StageGuards.RequireBestForBestOfPrevious(plan, metric));
        Assert.True(refused == e is InvalidInputException, $"{name}: {e?.Message}");
        if (refused)
        {
            Assert.StartsWith("--stages: stages[1].initFrom: best-of-previous needs the previous stage's best epoch", e!.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("no checkpoint", null, null, true)]
    [InlineData("the stage's first batch", 2, 0, true)]
    [InlineData("inside its first epoch", 2, 3, false)]
    [InlineData("its second epoch", 3, 0, false)]
    public void AtStageStart_Should_BeTrueOnlyBeforeTheStagesFirstStep_When_Resuming(string name, int? epoch, int? step, bool expected)
    {
        var plan = StagePlan.From(Options(ThreeStages));
        var state = epoch is null ? null : new TrainingState { Configuration = TrainingConfiguration.From(Options(ThreeStages)), Epoch = epoch.Value, StepInEpoch = step!.Value };
        Assert.True(expected == StageGuards.AtStageStart(plan.Stages[1], state), name);
    }

    [Fact]
    public void AttemptReport_Should_CarryTheStage_When_TheRunIsStaged()
    {
        var attempt = new AttemptRecord();
        Assert.Null(attempt.Report(TerminationStatuses.Completed, "done", null, null).Stage);

        attempt.RecordStage(new StageReport("b", 1, 3));

        var line = attempt.Report(TerminationStatuses.Preempted, "stopped", null, null).ToJsonLine();
        Assert.Contains("\"stage\":{\"name\":\"b\",\"index\":1,\"total\":3}", line, StringComparison.Ordinal);
        Assert.Equal(new StageReport("b", 1, 3), TerminationMessage.Parse(line)!.Stage);
    }
}
