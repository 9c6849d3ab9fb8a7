using System.Globalization;
using K8sTraining.Contract;
using K8sTraining.Operator.Api;

namespace K8sTraining.Operator.Reconciliation;

/// <summary>
/// spec.stages, spec.scheduleScope and spec.initFrom (issue 16) with the trainer's bounds, for servers that do not apply
/// the CRD schema or its CEL rules: unique stage names (the schema's list map key), no best-of-previous for the first
/// stage, and exactly one of initFrom.trainingJob and initFrom.uri.
/// </summary>
public static class StageValidator
{
    public static void Check(List<string> errors, TrainingJobSpec spec)
    {
        ArgumentNullException.ThrowIfNull(errors);
        ArgumentNullException.ThrowIfNull(spec);
        CheckStages(errors, spec.Stages);
        if (spec.ScheduleScope is { } scope && !ScheduleScopeNames.All.Contains(scope))
        {
            errors.Add($"spec.scheduleScope must be one of {string.Join(", ", ScheduleScopeNames.All)}, not '{scope}'");
        }

        CheckInitFrom(errors, spec.InitFrom);
    }

    private static void CheckStages(List<string> errors, IList<StageSpec>? stages)
    {
        if (stages is null)
        {
            return;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < stages.Count; i++)
        {
            var field = $"spec.stages[{i}]";
            if (stages[i] is not { } stage)
            {
                errors.Add($"{field} must be an object with a name and epochs");
                continue;
            }

            if (string.IsNullOrEmpty(stage.Name))
            {
                errors.Add($"{field}.name is required: give the stage a name (a DNS label such as warmup or full-size)");
            }
            else if (!SpecValidator.IsDnsLabel(stage.Name))
            {
                errors.Add($"{field}.name '{stage.Name}' is not a valid name (at most 63 lower case letters, digits and '-', starting and ending with a letter or digit)");
            }
            else if (!seen.Add(stage.Name))
            {
                errors.Add($"{field}.name '{stage.Name}' is used by an earlier stage: stage names must be unique (their artefacts are stages/<name>/)");
            }

            if (stage.Epochs is < 1 or > 100_000)
            {
                errors.Add($"{field}.epochs must be from 1 to 100000, not {stage.Epochs}");
            }

            if (stage.BatchSize is { } batch && batch is < 1 or > 65_536)
            {
                errors.Add($"{field}.batchSize must be from 1 to 65536, not {batch}");
            }

            if (stage.LearningRate is { } lr && !(lr is > 0 and <= 10))
            {
                errors.Add($"{field}.learningRate must be a positive number at most 10, not {Text(lr)}");
            }

            if (stage.LrScale is { } scale && !(scale is > 0 and <= 1000))
            {
                errors.Add($"{field}.lrScale must be a positive number at most 1000, not {Text(scale)}");
            }

            if (stage.DataFraction is { } fraction && !(fraction is > 0 and <= 1))
            {
                errors.Add($"{field}.dataFraction must be above 0 and at most 1, not {Text(fraction)}");
            }

            if (stage.ImageSize is { } size && size is < 8 or > 4096)
            {
                errors.Add($"{field}.imageSize must be from 8 to 4096, not {size}");
            }

            if (stage.Schedule?.Type is { } type && !SchedulerNames.All.Contains(type))
            {
                errors.Add($"{field}.schedule.type must be one of {string.Join(", ", SchedulerNames.All)}, not '{type}'");
            }

            if (stage.InitFrom is { } init && !StageInitFromNames.All.Contains(init))
            {
                errors.Add($"{field}.initFrom must be one of {string.Join(", ", StageInitFromNames.All)}, not '{init}'");
            }
            else if (i == 0 && stage.InitFrom == StageInitFromNames.BestOfPrevious)
            {
                errors.Add($"spec.stages[0].initFrom is {StageInitFromNames.BestOfPrevious}, but the first stage has no previous stage: remove it, or use spec.initFrom to start from another job's weights");
            }

            if (stage.MaxDurationSeconds is { } seconds && seconds < 1)
            {
                errors.Add($"{field}.maxDurationSeconds must be at least 1, not {seconds}");
            }

            if (stage.Freeze?.Any(string.IsNullOrWhiteSpace) == true)
            {
                errors.Add($"{field}.freeze must not hold an empty prefix");
            }
        }
    }

    private static void CheckInitFrom(List<string> errors, InitFromSpec? init)
    {
        if (init is null)
        {
            return;
        }

        var job = !string.IsNullOrEmpty(init.TrainingJob);
        var uri = !string.IsNullOrEmpty(init.Uri);
        if (job == uri)
        {
            errors.Add("spec.initFrom must set exactly one of trainingJob and uri: the name of a TrainingJob in this namespace, or an s3://bucket/prefix holding checkpoints");
        }

        if (uri && !SpecValidator.IsS3Uri(init.Uri!))
        {
            errors.Add($"spec.initFrom.uri must look like s3://bucket/prefix, not '{init.Uri}'");
        }

        if (init.Checkpoint is { } checkpoint && checkpoint is not (CheckpointSelectors.Best or CheckpointSelectors.Latest) && !IsStepSelector(checkpoint))
        {
            errors.Add($"spec.initFrom.checkpoint must be {CheckpointSelectors.Best}, {CheckpointSelectors.Latest} or {CheckpointSelectors.StepPrefix}N (a global step), not '{checkpoint}'");
        }
    }

    private static string Text(double value) => value.ToString(CultureInfo.InvariantCulture);

    private static bool IsStepSelector(string checkpoint) =>
        checkpoint.StartsWith(CheckpointSelectors.StepPrefix, StringComparison.Ordinal)
        && long.TryParse(checkpoint.AsSpan(CheckpointSelectors.StepPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out _);
}
