using K8sTraining.Contract;
using K8sTraining.Training.Loop;
using K8sTraining.Training.Options;

namespace K8sTraining.Training.Stages;

/// <summary>The checks and position tests of a staged run that need the data or the checkpoint (the rest is checked when --stages is read).</summary>
public static class StageGuards
{
    /// <summary>Refuses (exit 2) a best-of-previous stage in a run that keeps no best (no validation split, or --best-metric none).</summary>
    public static void RequireBestForBestOfPrevious(StagePlan plan, string? bestMetric)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (bestMetric is not null)
        {
            return;
        }
        if (plan.Stages.FirstOrDefault(s => s.InitFrom == StageInitFromNames.BestOfPrevious) is { } stage)
        {
            throw new InvalidInputException($"--stages: stages[{stage.Index}].initFrom: {StageInitFromNames.BestOfPrevious} needs the previous stage's best epoch, measured on a validation split; set --val-fraction (0.1) and a --best-metric other than {BestMetricNames.None}, or use initFrom {StageInitFromNames.Previous}");
        }
    }

    /// <summary>True when <paramref name="state"/> is the very start of <paramref name="stage"/> (its first epoch, no step done), or there is no state.</summary>
    public static bool AtStageStart(Stage stage, TrainingState? state)
    {
        ArgumentNullException.ThrowIfNull(stage);
        return state is null || (state.Epoch == stage.FirstEpoch && state.StepInEpoch == 0);
    }

    /// <summary>
    /// Refuses (exit 2) resuming <paramref name="saved"/> under stages that change its past: with or without stages
    /// where it had the other, another --schedule-scope, or a stage up to the one it is in that differs (stages after it
    /// may be added or changed; with --schedule-scope global, whose one schedule spans them all, none may change).
    /// </summary>
    public static void RequireCompatible(StagePlan plan, TrainerOptions options, TrainingState saved, string checkpoint)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(saved);
        var fix = $"resume with the --stages it was started with, or use another --checkpoint-dir";
        if (saved.Stages is null != options.Stages is null)
        {
            throw new ConfigurationMismatchException(saved.Stages is null
                ? $"--stages: checkpoint {checkpoint} was trained without stages; resume without --stages, or use another --checkpoint-dir"
                : $"--stages: checkpoint {checkpoint} was trained with {saved.Stages.Count} stage(s); {fix}");
        }
        if (saved.Stages is null || options.Stages is null)
        {
            return;
        }
        if (saved.ScheduleScope is { } scope && scope != options.ScheduleScope)
        {
            throw new ConfigurationMismatchException($"--schedule-scope: '{options.ScheduleScope}' differs from '{scope}' in checkpoint {checkpoint}; resume with --schedule-scope {scope}, or use another --checkpoint-dir");
        }
        var fixedStages = options.ScheduleScope == ScheduleScopeNames.Global ? Math.Max(saved.Stages.Count, options.Stages.Count) : (saved.Stage ?? 0) + 1;
        for (var i = 0; i < fixedStages; i++)
        {
            var before = i < saved.Stages.Count ? Canonical(saved.Stages[i]) : "none";
            var now = i < options.Stages.Count ? Canonical(options.Stages[i]) : "none";
            if (before != now)
            {
                var why = options.ScheduleScope == ScheduleScopeNames.Global ? "with --schedule-scope global every stage shapes the one schedule" : $"the run is in stage {saved.Stage} ('{saved.StageName}') already";
                throw new ConfigurationMismatchException($"--stages: stages[{i}] is {now} but {before} in checkpoint {checkpoint}, and {why}; {fix}");
            }
        }
    }

    /// <summary>The stage as a resume compares it: everything but its time limit, which changes no step (raising it is how a stage stopped by it continues).</summary>
    private static string Canonical(StageDefinition stage) =>
        System.Text.Json.JsonSerializer.Serialize(stage with { MaxDurationSeconds = null }, new System.Text.Json.JsonSerializerOptions
        {
            PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.CamelCase,
            DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        });
}
