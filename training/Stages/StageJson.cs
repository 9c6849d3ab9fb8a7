using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using K8sTraining.Contract;
using K8sTraining.Training.Options;

namespace K8sTraining.Training.Stages;

/// <summary>
/// Reads <c>--stages</c> (TRAINER_STAGES): a JSON array of stages, camelCase, as <c>spec.stages[]</c>. Every error is an
/// <see cref="OptionsException"/> (exit 2) that names <c>stages[i].field</c>, what is wrong and how to fix it.
/// </summary>
public static partial class StageJson
{
    /// <summary>The fields a stage may have.</summary>
    public static readonly IReadOnlyList<string> Fields =
        ["name", "epochs", "batchSize", "learningRate", "lrScale", "schedule", "dataFraction", "imageSize", "mixup", "freeze", "initFrom", "maxDurationSeconds"];

    /// <summary>The fields of a stage's schedule (those of spec.training.schedule).</summary>
    public static readonly IReadOnlyList<string> ScheduleFields =
        ["type", "warmupSteps", "warmupEpochs", "minLearningRate", "gamma", "stepSize", "milestones", "oneCycle"];

    /// <summary>The fields of a stage schedule's oneCycle.</summary>
    public static readonly IReadOnlyList<string> OneCycleFields = ["pctStart", "divFactor", "finalDivFactor", "baseMomentum", "maxMomentum"];

    /// <summary>
    /// The stages of <paramref name="json"/>; <paramref name="source"/> says where it came from (the flag, or the
    /// environment variable read as it) and <paramref name="scheduleScope"/> is the run's (a stage schedule needs
    /// <see cref="ScheduleScopeNames.Stage"/>).
    /// </summary>
    public static IReadOnlyList<StageDefinition> Parse(string json, string source, string scheduleScope)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new OptionsException($"{source}: '{Shorten(json)}' is not allowed; allowed: a JSON array of stages, such as {Example} (not JSON: {e.Message})");
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Array || document.RootElement.GetArrayLength() == 0)
            {
                throw new OptionsException($"{source}: '{Shorten(json)}' is not allowed; allowed: a non-empty JSON array of stages, such as {Example}");
            }
            var stages = new List<StageDefinition>();
            var index = 0;
            foreach (var item in document.RootElement.EnumerateArray())
            {
                stages.Add(ParseStage(item, $"{source}: stages[{index}]", index, stages, scheduleScope));
                index++;
            }
            return stages;
        }
    }

    private static StageDefinition ParseStage(JsonElement item, string at, int index, IReadOnlyList<StageDefinition> before, string scheduleScope)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            throw new OptionsException($"{at}: not an object; allowed: {{\"name\": ..., \"epochs\": ...}} with the optional fields {string.Join(", ", Fields.Skip(2))}");
        }
        RefuseUnknown(item, at, Fields);
        var name = Text(item, at, "name") ?? throw new OptionsException($"{at}.name: required; give each stage a name (a DNS label such as \"warmup\")");
        if (!DnsLabel().IsMatch(name))
        {
            throw new OptionsException($"{at}.name: '{name}' is not allowed; allowed: a DNS label (lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)");
        }
        if (before.Any(s => s.Name == name))
        {
            throw new OptionsException($"{at}.name: '{name}' is already the name of stages[{before.ToList().FindIndex(s => s.Name == name)}]; give every stage its own name");
        }
        var epochs = Integer(item, at, "epochs", 1, 100_000) ?? throw new OptionsException($"{at}.epochs: required; allowed: an integer from 1 to 100000");
        var learningRate = Real(item, at, "learningRate", 0, 10);
        var lrScale = Real(item, at, "lrScale", 0, 1000);
        if (learningRate is not null && lrScale is not null)
        {
            throw new OptionsException($"{at}.lrScale: not allowed together with learningRate; give one of the two (lrScale multiplies the training's learning rate)");
        }
        var fraction = Real(item, at, "dataFraction", 0, 1);
        var previousFraction = before.Count == 0 ? 0 : before[^1].DataFraction ?? 1;
        if ((fraction ?? 1) < previousFraction)
        {
            throw new OptionsException($"{at}.dataFraction: {(fraction ?? 1).ToString(CultureInfo.InvariantCulture)} is smaller than the previous stage's {previousFraction.ToString(CultureInfo.InvariantCulture)}; the data a stage trains on only grows: give at least {previousFraction.ToString(CultureInfo.InvariantCulture)}");
        }
        var initFrom = Text(item, at, "initFrom") ?? StageInitFromNames.Previous;
        if (!StageInitFromNames.All.Contains(initFrom, StringComparer.Ordinal))
        {
            throw new OptionsException($"{at}.initFrom: '{initFrom}' is not allowed; allowed: {string.Join(", ", StageInitFromNames.All)}");
        }
        if (index == 0 && initFrom == StageInitFromNames.BestOfPrevious)
        {
            throw new OptionsException($"{at}.initFrom: '{initFrom}' is not allowed in the first stage, which has no previous stage; remove it, or use {StageInitFromNames.Previous}");
        }
        StageScheduleOverride? schedule = null;
        if (item.TryGetProperty("schedule", out var s) && s.ValueKind != JsonValueKind.Null)
        {
            if (scheduleScope == ScheduleScopeNames.Global)
            {
                throw new OptionsException($"{at}.schedule: not allowed with --schedule-scope {ScheduleScopeNames.Global}, where one schedule spans every stage; remove it (scale the stage with lrScale), or use --schedule-scope {ScheduleScopeNames.Stage}");
            }
            schedule = ParseSchedule(s, at + ".schedule");
        }
        return new StageDefinition
        {
            Name = name,
            Epochs = (int)epochs,
            BatchSize = (int?)Integer(item, at, "batchSize", 1, 1_000_000),
            LearningRate = learningRate,
            LrScale = lrScale,
            Schedule = schedule,
            DataFraction = fraction,
            ImageSize = (int?)Integer(item, at, "imageSize", 8, 4096),
            Mixup = Bool(item, at, "mixup"),
            Freeze = Strings(item, at, "freeze"),
            InitFrom = initFrom,
            MaxDurationSeconds = (int?)Integer(item, at, "maxDurationSeconds", 1, int.MaxValue),
        };
    }

    private static StageScheduleOverride ParseSchedule(JsonElement s, string at)
    {
        if (s.ValueKind != JsonValueKind.Object)
        {
            throw new OptionsException($"{at}: not an object; allowed: the fields of spec.training.schedule ({string.Join(", ", ScheduleFields)})");
        }
        RefuseUnknown(s, at, ScheduleFields);
        var type = Text(s, at, "type");
        if (type is not null && !SchedulerNames.All.Contains(type, StringComparer.Ordinal))
        {
            throw new OptionsException($"{at}.type: '{type}' is not allowed; allowed: {string.Join(", ", SchedulerNames.All)}");
        }
        List<int>? milestones = null;
        if (s.TryGetProperty("milestones", out var m) && m.ValueKind != JsonValueKind.Null)
        {
            if (m.ValueKind != JsonValueKind.Array || m.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.Number || !e.TryGetInt32(out var v) || v < 0))
            {
                throw new OptionsException($"{at}.milestones: not allowed; allowed: an array of epochs (of the stage), such as [3, 6]");
            }
            milestones = [.. m.EnumerateArray().Select(e => e.GetInt32())];
        }
        JsonElement oneCycle = default;
        var hasOneCycle = s.TryGetProperty("oneCycle", out oneCycle) && oneCycle.ValueKind != JsonValueKind.Null;
        if (hasOneCycle)
        {
            if (oneCycle.ValueKind != JsonValueKind.Object)
            {
                throw new OptionsException($"{at}.oneCycle: not an object; allowed: the fields {string.Join(", ", OneCycleFields)}");
            }
            RefuseUnknown(oneCycle, at + ".oneCycle", OneCycleFields);
        }
        return new StageScheduleOverride
        {
            Type = type,
            WarmupSteps = (int?)Integer(s, at, "warmupSteps", 0, int.MaxValue),
            WarmupEpochs = Real(s, at, "warmupEpochs", -1e-300, 100_000),
            MinLearningRate = Real(s, at, "minLearningRate", -1e-300, 10),
            Gamma = Real(s, at, "gamma", 0, 1),
            StepSize = (int?)Integer(s, at, "stepSize", 1, int.MaxValue),
            Milestones = milestones,
            PctStart = hasOneCycle ? Real(oneCycle, at + ".oneCycle", "pctStart", 0, 0.999) : null,
            DivFactor = hasOneCycle ? Real(oneCycle, at + ".oneCycle", "divFactor", 0, 1e9) : null,
            FinalDivFactor = hasOneCycle ? Real(oneCycle, at + ".oneCycle", "finalDivFactor", 0, 1e12) : null,
            BaseMomentum = hasOneCycle ? Real(oneCycle, at + ".oneCycle", "baseMomentum", -1e-300, 0.999999) : null,
            MaxMomentum = hasOneCycle ? Real(oneCycle, at + ".oneCycle", "maxMomentum", -1e-300, 0.999999) : null,
        };
    }

    private static void RefuseUnknown(JsonElement item, string at, IReadOnlyList<string> allowed)
    {
        foreach (var property in item.EnumerateObject())
        {
            if (!allowed.Contains(property.Name, StringComparer.Ordinal))
            {
                throw new OptionsException($"{at}.{property.Name}: unknown field; allowed: {string.Join(", ", allowed)}");
            }
        }
    }

    private static bool Present(JsonElement item, string field, out JsonElement value) =>
        item.TryGetProperty(field, out value) && value.ValueKind != JsonValueKind.Null;

    private static string? Text(JsonElement item, string at, string field)
    {
        if (!Present(item, field, out var value))
        {
            return null;
        }
        return value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : throw new OptionsException($"{at}.{field}: {value.GetRawText()} is not allowed; allowed: a string");
    }

    private static long? Integer(JsonElement item, string at, string field, long min, long max)
    {
        if (!Present(item, field, out var value))
        {
            return null;
        }
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var v) || v < min || v > max)
        {
            throw new OptionsException($"{at}.{field}: {value.GetRawText()} is not allowed; allowed: an integer from {min} to {max}");
        }
        return v;
    }

    // Greater than minExclusive (a tiny negative bound admits 0), at most max.
    private static double? Real(JsonElement item, string at, string field, double minExclusive, double max)
    {
        if (!Present(item, field, out var value))
        {
            return null;
        }
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var v) || !(v > minExclusive) || v > max)
        {
            var low = minExclusive < 0 ? "from 0" : $"greater than {minExclusive.ToString(CultureInfo.InvariantCulture)}";
            throw new OptionsException($"{at}.{field}: {value.GetRawText()} is not allowed; allowed: a number {low} and at most {max.ToString(CultureInfo.InvariantCulture)}");
        }
        return v;
    }

    private static bool? Bool(JsonElement item, string at, string field)
    {
        if (!Present(item, field, out var value))
        {
            return null;
        }
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new OptionsException($"{at}.{field}: {value.GetRawText()} is not allowed; allowed: true or false"),
        };
    }

    private static List<string>? Strings(JsonElement item, string at, string field)
    {
        if (!Present(item, field, out var value))
        {
            return null;
        }
        if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(e.GetString())))
        {
            throw new OptionsException($"{at}.{field}: {value.GetRawText()} is not allowed; allowed: an array of parameter-name prefixes, such as [\"conv1\", \"conv2\"] ([] trains every parameter)");
        }
        return [.. value.EnumerateArray().Select(e => e.GetString()!)];
    }

    private const string Example = """[{"name":"warmup","epochs":2},{"name":"main","epochs":8}]""";

    private static string Shorten(string json) => json.Length <= 80 ? json : json[..77] + "...";

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
    private static partial Regex DnsLabel();
}
