using System.Globalization;
using System.Text.RegularExpressions;
using K8sTraining.Contract;
using K8sTraining.Training.Options;
using YamlDotNet.RepresentationModel;

namespace K8sTraining.Trainer.Tests.Unit;

/// <summary>
/// Every spec.training field of the TrainingJob CRD reaches the trainer as a TRAINER_* variable: what the schema lets
/// through, the parser must accept, and where the schema stops (its bounds, its enum), the parser must stop too, so a job
/// the API server admits never ends in an exit 2 for a value the schema could have refused.
/// </summary>
[Trait("Category", "Unit")]
public sealed class CrdOptionsAgreementTests
{
    private static readonly YamlMappingNode Training = LoadTrainingSchema();

    /// <summary>The schema path under spec.training and the variable the operator sets from it (TrainerPodBuilder).</summary>
    public static TheoryData<string, string> Fields() => new()
    {
        { "samples", TrainerEnvironment.Samples },
        { "epochs", TrainerEnvironment.Epochs },
        { "seed", TrainerEnvironment.Seed },
        { "model", TrainerEnvironment.Model },
        { "optimizer", TrainerEnvironment.Optimizer },
        { "numClasses", TrainerEnvironment.NumClasses },
        { "inChannels", TrainerEnvironment.InChannels },
        { "imageSize", TrainerEnvironment.ImageSize },
        { "stem", TrainerEnvironment.Stem },
        { "cnnChannels", TrainerEnvironment.CnnChannels },
        { "augmentation.randomCropPadding", TrainerEnvironment.RandomCropPadding },
        { "augmentation.horizontalFlip", TrainerEnvironment.HorizontalFlip },
        { "normalize", TrainerEnvironment.Normalize },
        { "maxSamplesPerClass", TrainerEnvironment.MaxSamplesPerClass },
        { "validationFraction", TrainerEnvironment.ValFraction },
        { "loss", TrainerEnvironment.Loss },
        { "focalGamma", TrainerEnvironment.FocalGamma },
        { "loader.workers", TrainerEnvironment.LoaderWorkers },
        { "loader.prefetchBatches", TrainerEnvironment.PrefetchBatches },
    };

    /// <summary>
    /// The recipe's fields (issue 15), with the variables a value needs beside it to be judged alone (a multistep
    /// schedule needs milestones; a base momentum of 0.999 needs a max momentum above it; ema weights need an EMA).
    /// </summary>
    public static TheoryData<string, string, string> RecipeFields() => new()
    {
        { "schedule.type", TrainerEnvironment.Scheduler, $"{TrainerEnvironment.Milestones}=1" },
        { "schedule.warmupSteps", TrainerEnvironment.WarmupSteps, "" },
        { "schedule.warmupEpochs", TrainerEnvironment.WarmupEpochs, "" },
        { "schedule.minLearningRate", TrainerEnvironment.MinLr, "" },
        { "schedule.gamma", TrainerEnvironment.LrGamma, "" },
        { "schedule.stepSize", TrainerEnvironment.StepSize, "" },
        { "schedule.milestones", TrainerEnvironment.Milestones, "" },
        { "schedule.oneCycle.pctStart", TrainerEnvironment.OneCyclePctStart, "" },
        { "schedule.oneCycle.divFactor", TrainerEnvironment.OneCycleDivFactor, "" },
        { "schedule.oneCycle.finalDivFactor", TrainerEnvironment.OneCycleFinalDivFactor, "" },
        { "schedule.oneCycle.baseMomentum", TrainerEnvironment.BaseMomentum, $"{TrainerEnvironment.MaxMomentum}=0.999999" },
        { "schedule.oneCycle.maxMomentum", TrainerEnvironment.MaxMomentum, $"{TrainerEnvironment.BaseMomentum}=0" },
        { "momentum", TrainerEnvironment.Momentum, "" },
        { "nesterov", TrainerEnvironment.Nesterov, "" },
        { "weightDecay", TrainerEnvironment.WeightDecay, "" },
        { "gradClipNorm", TrainerEnvironment.GradClipNorm, "" },
        { "gradAccumulationSteps", TrainerEnvironment.GradAccumulationSteps, "" },
        { "lrFinder.steps", TrainerEnvironment.LrFindSteps, "" },
        { "lrFinder.startLearningRate", TrainerEnvironment.LrFindStart, "" },
        { "lrFinder.endLearningRate", TrainerEnvironment.LrFindEnd, "" },
        { "lrFinder.rule", TrainerEnvironment.LrFindRule, "" },
        { "mixing.mixupAlpha", TrainerEnvironment.MixupAlpha, "" },
        { "mixing.cutmixAlpha", TrainerEnvironment.CutMixAlpha, "" },
        { "mixing.probability", TrainerEnvironment.MixProb, "" },
        { "mixing.offLastEpochs", TrainerEnvironment.MixOffLastEpochs, "" },
        { "labelSmoothing", TrainerEnvironment.LabelSmoothing, "" },
        { "emaDecay", TrainerEnvironment.EmaDecay, "" },
        { "best.metric", TrainerEnvironment.BestMetric, "" },
        { "best.weights", TrainerEnvironment.BestWeights, $"{TrainerEnvironment.EmaDecay}=0.999" },
    };

    [Theory]
    [MemberData(nameof(RecipeFields))]
    public void Parser_Should_AcceptExactlyWhatTheSchemaAdmits_When_TheOperatorPassesARecipeField(string path, string variable, string context) =>
        AssertAgreement(path, variable, context);

    [Theory]
    [MemberData(nameof(Fields))]
    public void Parser_Should_AcceptExactlyWhatTheSchemaAdmits_When_TheOperatorPassesTheField(string path, string variable) =>
        AssertAgreement(path, variable, "");

    [Fact]
    public void Parser_Should_FindTheLearningRate_When_TheOperatorPassesLrFinderAuto()
    {
        // TrainerPodBuilder sets TRAINER_LR to auto for spec.training.lrFinder.auto: true.
        Assert.Equal("boolean", Scalar(Field("lrFinder.auto"), "type"));

        var options = OptionsParser.Parse([], Environment(TrainerEnvironment.LearningRate, "auto"));

        Assert.True(options.LearningRateAuto);
    }

    [Theory]
    [InlineData("conv1")]
    [InlineData("features.0.weight")]
    [InlineData("fc")]
    public void Parser_Should_FreezeThePrefixAsGiven_When_TheSchemaPatternAdmitsIt(string prefix)
    {
        Assert.Matches(new Regex(Scalar((YamlMappingNode)Field("freeze")["items"], "pattern")!), prefix);

        var options = OptionsParser.Parse([], Environment(TrainerEnvironment.Freeze, $"{prefix},other"));

        Assert.Equal([prefix, "other"], options.Freeze);
    }

    [Theory]
    [InlineData("conv1,bn1")]
    [InlineData(" conv1")]
    [InlineData("")]
    public void SchemaPattern_Should_RefuseAFreezeItem_When_TheParserWouldReadItOtherwise(string prefix)
    {
        // A comma splits, spaces are trimmed and an empty item vanishes: none of them would freeze what the item says.
        Assert.DoesNotMatch(new Regex(Scalar((YamlMappingNode)Field("freeze")["items"], "pattern")!), prefix);
    }

    [Fact]
    public void SchemaRule_Should_UseTheTrainersDefaultMomenta_When_OneOfThemIsUnset()
    {
        var defaults = OptionsParser.Parse([], _ => null);
        var rules = ((YamlSequenceNode)Field("schedule.oneCycle")["x-kubernetes-validations"]).Children.Select(r => Scalar((YamlMappingNode)r, "rule")).ToList();

        Assert.Contains(rules, r => r!.Contains($"has(self.baseMomentum) ? self.baseMomentum : {Text(defaults.BaseMomentum)}", StringComparison.Ordinal)
            && r.Contains($"has(self.maxMomentum) ? self.maxMomentum : {Text(defaults.MaxMomentum)}", StringComparison.Ordinal));
    }

    private static void AssertAgreement(string path, string variable, string context)
    {
        var schema = Field(path);
        var accepted = new List<string>();
        var refused = new List<string>();
        switch (Scalar(schema, "type"))
        {
            case "boolean":
                accepted.AddRange(["true", "false"]);
                refused.Add("yes");
                break;
            case "string" or "integer" when schema.Children.ContainsKey("enum"):
                accepted.AddRange(((YamlSequenceNode)schema["enum"]).Children.Select(n => ((YamlScalarNode)n).Value!));
                refused.Add(Scalar(schema, "type") == "integer" ? "2" : "bogus");
                break;
            case "integer":
                var min = long.Parse(Scalar(schema, "minimum")!, CultureInfo.InvariantCulture);
                var max = long.Parse(Scalar(schema, "maximum")!, CultureInfo.InvariantCulture);
                accepted.AddRange([Text(min), Text(max)]);
                refused.Add(Text(min - 1));
                if (max < long.MaxValue)
                {
                    refused.Add(Text(max + 1));
                }

                break;
            case "number":
                var low = double.Parse(Scalar(schema, "minimum")!, CultureInfo.InvariantCulture);
                var high = double.Parse(Scalar(schema, "maximum")!, CultureInfo.InvariantCulture);
                var exclusive = Scalar(schema, "exclusiveMinimum") == "true";
                accepted.AddRange([exclusive ? Text(low + 1e-9) : Text(low), Text((low + high) / 2), Text(high)]);
                refused.AddRange([Text(low - 0.001), Text(high + 0.001)]);
                if (exclusive)
                {
                    refused.Add(Text(low));
                }

                break;
            case "array" when schema["items"] is YamlMappingNode { } items && Scalar(items, "type") == "integer":
                var first = long.Parse(Scalar(items, "minimum")!, CultureInfo.InvariantCulture);
                var last = long.Parse(Scalar(items, "maximum")!, CultureInfo.InvariantCulture);
                accepted.AddRange([Text(first), Text(last), $"{Text(first)},{Text(last)}"]);
                refused.AddRange([Text(first - 1), Text(last + 1)]);
                break;
            default:
                Assert.Fail($"spec.training.{path}: no bounds to compare (type {Scalar(schema, "type")})");
                break;
        }

        foreach (var value in accepted)
        {
            var error = Record.Exception(() => OptionsParser.Parse([], Environment(variable, value, context)));
            Assert.True(error is null, $"spec.training.{path} = {value} passes the schema, but the trainer refuses {variable}={value}: {error?.Message}");
        }

        foreach (var value in refused)
        {
            var error = Record.Exception(() => OptionsParser.Parse([], Environment(variable, value, context)));
            Assert.True(error is OptionsException, $"spec.training.{path} = {value} fails the schema, but the trainer accepts {variable}={value}");
        }
    }

    [Theory]
    [InlineData("none")]
    [InlineData("auto")]
    [InlineData("1,1,10")]
    [InlineData("0.5,2.25,.5")]
    [InlineData("1e-3,7E2,0")]
    public void Parser_Should_AcceptTheClassWeights_When_TheSchemaPatternAdmitsThem(string weights)
    {
        Assert.Matches(new Regex(Scalar(Field("classWeights"), "pattern")!), weights);

        var options = OptionsParser.Parse([], Environment(TrainerEnvironment.ClassWeights, weights));

        Assert.Equal(weights, options.ClassWeights);
    }

    [Theory]
    [InlineData("Auto")]
    [InlineData("1,-1")]
    [InlineData("1;2")]
    [InlineData("one,two")]
    [InlineData("1,,2")]
    [InlineData("NaN")]
    public void SchemaPattern_Should_RefuseTheClassWeights_When_TheParserRefusesThem(string weights)
    {
        Assert.Throws<OptionsException>(() => OptionsParser.Parse([], Environment(TrainerEnvironment.ClassWeights, weights)));

        Assert.DoesNotMatch(new Regex(Scalar(Field("classWeights"), "pattern")!), weights);
    }

    [Theory]
    [InlineData("dataset")]
    [InlineData("loss")]
    public void Schema_Should_ListTheContractsNames_When_TheFieldIsAnEnum(string path)
    {
        IReadOnlyList<string> expected = path == "loss" ? LossNames.All : DatasetNames.All;

        Assert.Equal(expected, ((YamlSequenceNode)Field(path)["enum"]).Children.Select(n => ((YamlScalarNode)n).Value));
    }

    private static Func<string, string?> Environment(string variable, string value) =>
        name => name == variable ? value : null;

    /// <summary>The variable, and the context's VARIABLE=value pairs (comma-free values, separated by ';').</summary>
    private static Func<string, string?> Environment(string variable, string value, string context)
    {
        var others = context.Split(';', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        return name => name == variable ? value : others.GetValueOrDefault(name);
    }

    private static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Text(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static YamlMappingNode Field(string path)
    {
        var node = Training;
        foreach (var part in path.Split('.'))
        {
            node = (YamlMappingNode)((YamlMappingNode)node["properties"])[part];
        }

        return node;
    }

    private static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(key, out var value) ? ((YamlScalarNode)value).Value : null;

    private static YamlMappingNode LoadTrainingSchema()
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(Path.Combine(RepositoryPaths.Root, "crds", "trainingjobs.k8straining.io.yaml")))
        {
            stream.Load(reader);
        }

        YamlNode node = stream.Documents[0].RootNode;
        foreach (var key in new[] { "spec", "versions" })
        {
            node = ((YamlMappingNode)node)[key];
        }

        node = ((YamlSequenceNode)node).Children[0];
        foreach (var key in new[] { "schema", "openAPIV3Schema", "properties", "spec", "properties", "training" })
        {
            node = ((YamlMappingNode)node)[key];
        }

        return (YamlMappingNode)node;
    }
}
