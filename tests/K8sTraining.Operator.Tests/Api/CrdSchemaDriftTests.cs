using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using K8sTraining.Contract;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Reconciliation;
using k8s;
using k8s.Models;
using YamlDotNet.RepresentationModel;

namespace K8sTraining.Operator.Tests.Api;

/// <summary>The CRD in crds/ and the C# types must describe the same API, field by field, both ways.</summary>
[Trait("Category", "Unit")]
public sealed class CrdSchemaDriftTests
{
    private static readonly JsonObject Crd = LoadYaml(Path.Combine(RepositoryPaths.Root, "crds", "trainingjobs.k8straining.io.yaml"));

    private static JsonObject Version => (JsonObject)Crd["spec"]!["versions"]![0]!;

    private static JsonObject Schema => (JsonObject)Version["schema"]!["openAPIV3Schema"]!;

    [Fact]
    public void Crd_Should_DeclareTheAgreedNames_When_Loaded()
    {
        var spec = Crd["spec"]!;
        Assert.Equal(TrainingJob.KubeGroup, (string?)spec["group"]);
        Assert.Equal("Namespaced", (string?)spec["scope"]);
        Assert.Equal(TrainingJob.KubeKind, (string?)spec["names"]!["kind"]);
        Assert.Equal(TrainingJob.KubePlural, (string?)spec["names"]!["plural"]);
        Assert.Contains(TrainingJob.KubeShortName, spec["names"]!["shortNames"]!.AsArray().Select(n => (string?)n));
        Assert.Equal($"{TrainingJob.KubePlural}.{TrainingJob.KubeGroup}", (string?)Crd["metadata"]!["name"]);
        Assert.Equal(TrainingJob.KubeVersion, (string?)Version["name"]);
        Assert.NotNull(Version["subresources"]?["status"]);
    }

    [Fact]
    public void Crd_Should_PrintTheBestValueInTheWideListing_When_ListedWithOWide()
    {
        var best = Version["additionalPrinterColumns"]!.AsArray().Single(c => (string?)c!["name"] == "Best")!;

        Assert.Equal((".status.best.value", "number", "1"), ((string?)best["jsonPath"], (string?)best["type"], best["priority"]?.ToString()));
        Assert.False(string.IsNullOrEmpty((string?)best["description"]));
    }

    [Fact]
    public void Crd_Should_PrintTheAgreedColumns_When_ListingJobs()
    {
        var columns = Version["additionalPrinterColumns"]!.AsArray()
            .Where(c => c!["priority"] is null)
            .Select(c => ((string?)c!["name"], (string?)c["jsonPath"]))
            .ToList();

        Assert.Equal(
            [
                ("Phase", ".status.phase"), ("Stage", ".status.stage.name"), ("Epoch", ".status.progress.epoch"), ("Step", ".status.progress.globalStep"),
                ("Preemptions", ".status.preemptions"), ("Restarts", ".status.restarts"), ("Workers", ".status.workersReady"), ("Age", ".metadata.creationTimestamp"),
            ],
            columns);
        foreach (var column in Version["additionalPrinterColumns"]!.AsArray())
        {
            var path = ((string)column!["jsonPath"]!).TrimStart('.').Split('.');
            if (path[0] != "metadata")
            {
                Assert.NotNull(Walk(Schema, path));
            }
        }
    }

    [Fact]
    public void Schema_Should_MatchTheSpecType_When_WalkedBothWays()
    {
        var problems = new List<string>();
        Compare(typeof(TrainingJobSpec), (JsonObject)Schema["properties"]!["spec"]!, "spec", problems);
        Assert.Empty(problems);
    }

    [Fact]
    public void Schema_Should_MatchTheStatusType_When_WalkedBothWays()
    {
        var problems = new List<string>();
        Compare(typeof(TrainingJobStatus), (JsonObject)Schema["properties"]!["status"]!, "status", problems);
        Assert.Empty(problems);
    }

    [Fact]
    public void Schema_Should_ListTheCheckpointSyncModesWithoutADefault_When_ComparedWithTheContract()
    {
        var sync = Schema["properties"]!["spec"]!["properties"]!["checkpoint"]!["properties"]!["sync"]!;

        Assert.Equal(CheckpointSyncValues.All, Enum(sync));
        // The default depends on spec.training and the uri: the operator applies it, so the schema must not.
        Assert.Null(sync["default"]);
        Assert.Contains("sidecar", (string?)sync["description"], StringComparison.Ordinal);
    }

    [Fact]
    public void Schema_Should_ListTheSameEnumsAndDefaults_When_ComparedWithTheConstants()
    {
        var spec = Schema["properties"]!["spec"]!["properties"]!;
        var training = spec["training"]!["properties"]!;
        Assert.Equal(ModelNames.All, Enum(training["model"]));
        Assert.Equal(DatasetNames.All, Enum(training["dataset"]));
        Assert.Equal(OptimizerNames.All, Enum(training["optimizer"]));
        Assert.Equal(LossNames.All, Enum(training["loss"]));
        Assert.Equal(ResNetStems.All, Enum(training["stem"]));
        Assert.Equal(["1", "3"], Enum(training["inChannels"]));
        Assert.Equal(SpecValidator.ClassWeightListPattern, (string?)training["classWeights"]!["pattern"]);
        Assert.Equal(JobPhases.All, Enum(Schema["properties"]!["status"]!["properties"]!["phase"]));
        Assert.Equal(AttemptOutcomes.All, Enum(Schema["properties"]!["status"]!["properties"]!["lastTermination"]!["properties"]!["outcome"]));
        Assert.Equal(TrainingJobSpec.DefaultImage, (string?)spec["image"]!["default"]);
        Assert.Equal("3", (string?)spec["maxRestarts"]!["default"]);
        Assert.Equal("60", (string?)spec["terminationGracePeriodSeconds"]!["default"]);
        Assert.Equal(TrainingJobSpec.DefaultMetricsPort.ToString(System.Globalization.CultureInfo.InvariantCulture), (string?)spec["metricsPort"]!["default"]);
    }

    [Fact]
    public void Schema_Should_ListTheRecipesNames_When_ComparedWithTheConstants()
    {
        var training = Schema["properties"]!["spec"]!["properties"]!["training"]!["properties"]!;

        Assert.Equal(SchedulerNames.All, Enum(training["schedule"]!["properties"]!["type"]));
        Assert.Equal(BestMetricNames.All, Enum(training["best"]!["properties"]!["metric"]));
        Assert.Equal(BestWeightsNames.All, Enum(training["best"]!["properties"]!["weights"]));
    }

    [Fact]
    public void Schema_Should_ListTheStagesNames_When_ComparedWithTheConstants()
    {
        var spec = Schema["properties"]!["spec"]!["properties"]!;
        var stage = spec["stages"]!["items"]!["properties"]!;

        Assert.Equal(ScheduleScopeNames.All, Enum(spec["scheduleScope"]));
        Assert.Equal(StageInitFromNames.All, Enum(stage["initFrom"]));
        Assert.Equal(SchedulerNames.All, Enum(stage["schedule"]!["properties"]!["type"]));
        // Unique stage names, the Kubernetes way: a list map keyed by name (its twin is StageValidator's check).
        Assert.Equal(("map", "name"), ((string?)spec["stages"]!["x-kubernetes-list-type"], (string?)spec["stages"]!["x-kubernetes-list-map-keys"]![0]));
        Assert.Equal(["name", "epochs"], spec["stages"]!["items"]!["required"]!.AsArray().Select(n => (string?)n));
    }

    /// <summary>
    /// One CEL rule of the CRD (x-kubernetes-validations on the object at Path under spec) and its twin in the operator:
    /// a spec that breaks it, and the start of the SpecValidator error it gets where no server ran the rule.
    /// </summary>
    public sealed record CelCase(string Name, string Path, string Message, string[] Names, Action<TrainingJobSpec> Break, string Error)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<CelCase> CelCases() => new()
    {
        new("a learning rate beside the LR finder", "training", "learningRate and lrFinder.auto are both set", [],
            s => Training(s, t => { t.LearningRate = 0.01; t.LrFinder = new LrFinderSpec { Auto = true }; }), "spec.training.learningRate and spec.training.lrFinder.auto are both set"),
        new("best EMA weights without an EMA", "training", "best.weights ema needs an EMA", [BestWeightsNames.Ema],
            s => Training(s, t => t.Best = new BestSpec { Weights = BestWeightsNames.Ema }), "spec.training.best.weights ema needs an EMA"),
        new("warmup in steps and epochs", "training.schedule", "warmupSteps and warmupEpochs are both set", [],
            s => Training(s, t => t.Schedule = new ScheduleSpec { WarmupSteps = 10, WarmupEpochs = 1 }), "spec.training.schedule.warmupSteps and warmupEpochs are both set"),
        new("warmup with onecycle", "training.schedule", "warmupSteps and warmupEpochs are not allowed with type onecycle", [SchedulerNames.OneCycle],
            s => Training(s, t => t.Schedule = new ScheduleSpec { Type = SchedulerNames.OneCycle, WarmupEpochs = 1 }), "spec.training.schedule.warmupEpochs is not allowed with schedule.type onecycle"),
        new("multistep without milestones", "training.schedule", "milestones is required when type is multistep", [SchedulerNames.MultiStep],
            s => Training(s, t => t.Schedule = new ScheduleSpec { Type = SchedulerNames.MultiStep }), "spec.training.schedule.milestones is required when schedule.type is multistep"),
        new("momenta crossed", "training.schedule.oneCycle", "baseMomentum must be at most maxMomentum",
            [RecipeValidator.DefaultBaseMomentum.ToString(System.Globalization.CultureInfo.InvariantCulture), RecipeValidator.DefaultMaxMomentum.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            s => Training(s, t => t.Schedule = new ScheduleSpec { OneCycle = new OneCycleSpec { BaseMomentum = 0.9, MaxMomentum = 0.8 } }), "spec.training.schedule.oneCycle.baseMomentum (0.9) must be at most maxMomentum (0.8)"),
        new("a cnn width beside another model", "training", "cnnChannels applies to model cnn only", [ModelNames.Cnn],
            s => Training(s, t => t.CnnChannels = 32), "spec.training.cnnChannels applies to model cnn only"),
        new("mixing off for part of an epoch beyond the first", "training.mixing.offLastEpochs", "offLastEpochs must be a whole number of epochs", [],
            s => Training(s, t => t.Mixing = new MixingSpec { OffLastEpochs = 2.5 }), "spec.training.mixing.offLastEpochs must be a whole number of epochs"),
        new("a first stage that starts from the best of no previous", "stages", "the first stage has no previous stage", [StageInitFromNames.BestOfPrevious],
            s => s.Stages = [new StageSpec { Name = "warmup", Epochs = 1, InitFrom = StageInitFromNames.BestOfPrevious }], "spec.stages[0].initFrom is best-of-previous, but the first stage has no previous stage"),
        new("a fine-tune from both a job and a uri", "initFrom", "exactly one of trainingJob and uri must be set", [],
            s => s.InitFrom = new InitFromSpec { TrainingJob = "base", Uri = "s3://bucket/base" }, "spec.initFrom must set exactly one of trainingJob and uri"),
        new("a fine-tune from nothing", "initFrom", "exactly one of trainingJob and uri must be set", [],
            s => s.InitFrom = new InitFromSpec { Checkpoint = "best" }, "spec.initFrom must set exactly one of trainingJob and uri"),
    };

    [Theory]
    [MemberData(nameof(CelCases))]
    public void Schema_Should_RefuseWithARuleWhatTheOperatorRefuses_When_FieldsDisagree(CelCase c)
    {
        var node = Walk(Schema["properties"]!["spec"]!, c.Path.Split('.'));
        var rules = (node?["x-kubernetes-validations"] as JsonArray ?? []).Select(r => ((string?)r!["rule"], (string?)r["message"])).ToList();
        var job = new TrainingJob { Spec = new TrainingJobSpec { Training = new TrainingSpec { Model = ModelNames.Mlp } } };
        c.Break(job.Spec);

        var errors = SpecValidator.Validate(job.Spec);

        var (rule, _) = Assert.Single(rules, r => r.Item2?.StartsWith(c.Message, StringComparison.Ordinal) == true);
        Assert.All(c.Names, name => Assert.Contains(name, rule, StringComparison.Ordinal));
        Assert.StartsWith(c.Error, Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void Schema_Should_HaveAnOperatorTwinForEveryRule_When_TheSpecHasCelRules()
    {
        // The local control plane and servers without CEL skip x-kubernetes-validations: every rule needs SpecValidator too.
        var found = new List<string>();
        FindRules((JsonObject)Schema["properties"]!["spec"]!, found);

        Assert.Equal(((IEnumerable<object[]>)CelCases()).Select(r => ((CelCase)r[0]).Message).Distinct().Count(), found.Count);
        Assert.All(found, message => Assert.Contains(((IEnumerable<object[]>)CelCases()).Select(r => (CelCase)r[0]), c => message.StartsWith(c.Message, StringComparison.Ordinal)));
    }

    private static void Training(TrainingJobSpec spec, Action<TrainingSpec> edit) => edit(spec.Training!);

    private static void FindRules(JsonObject schema, List<string> found)
    {
        foreach (var rule in schema["x-kubernetes-validations"] as JsonArray ?? [])
        {
            found.Add((string?)rule!["message"] ?? "(a rule without a message)");
        }

        foreach (var (_, child) in schema["properties"] as JsonObject ?? [])
        {
            FindRules((JsonObject)child!, found);
        }

        if (schema["items"] is JsonObject items)
        {
            FindRules(items, found);
        }
    }

    [Fact]
    public void Schema_Should_LetUsersOverrideSecurityAndOptIntoAdoption_When_Loaded()
    {
        var spec = Schema["properties"]!["spec"]!["properties"]!;
        var status = Schema["properties"]!["status"]!["properties"]!;

        Assert.True((bool?)spec["securityContext"]!["x-kubernetes-preserve-unknown-fields"]);
        Assert.True((bool?)spec["podSecurityContext"]!["x-kubernetes-preserve-unknown-fields"]);
        Assert.Equal("boolean", (string?)spec["checkpoint"]!["properties"]!["adopt"]!["type"]);
        Assert.Equal("false", spec["checkpoint"]!["properties"]!["adopt"]!["default"]!.ToString());
        Assert.NotNull(status["checkpointedTraining"]!["properties"]!["training"]!["properties"]!["learningRate"]);
        Assert.Equal("int32", (string?)status["podCreateFailures"]!["format"]);
        Assert.Equal("int32", (string?)status["storageRetries"]!["format"]);
    }

    [Fact]
    public void Drift_Should_BeDetected_When_AnEmbeddedCoreTypeNamesAFieldKubernetesDoesNotHave()
    {
        // Guards the guard for the opened pod: a partial core/v1 schema may leave fields out, never invent one.
        var schema = (JsonObject)Schema["properties"]!["spec"]!.DeepClone();
        ((JsonObject)schema["properties"]!["sidecars"]!["items"]!["properties"]!).Add("restartPolicyy", new JsonObject { ["type"] = "string" });
        ((JsonObject)schema["properties"]!["volumeMounts"]!["items"]!["properties"]!).Remove("subPath");
        var problems = new List<string>();

        Compare(typeof(TrainingJobSpec), schema, "spec", problems);

        Assert.Contains(problems, p => p.StartsWith("spec.sidecars[].restartPolicyy: in the schema but not in C#", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("spec.volumeMounts[].subPath: in C#", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("volumes")]
    [InlineData("initContainers")]
    [InlineData("sidecars")]
    [InlineData("imagePullSecrets")]
    public void Schema_Should_KeyTheOpenedPodsListsByName_When_Loaded(string field)
    {
        var list = Schema["properties"]!["spec"]!["properties"]![field]!;

        Assert.Equal("map", (string?)list["x-kubernetes-list-type"]);
        Assert.Equal(["name"], list["x-kubernetes-list-map-keys"]!.AsArray().Select(n => (string?)n));
        Assert.Contains("name", list["items"]!["required"]!.AsArray().Select(n => (string?)n));
    }

    [Fact]
    public void Schema_Should_LeaveTrainingOptional_When_AJobRunsItsOwnTrainer()
    {
        var spec = Schema["properties"]!["spec"]!;

        Assert.DoesNotContain("training", (spec["required"] as JsonArray ?? []).Select(n => (string?)n));
        Assert.Equal("array", (string?)spec["properties"]!["command"]!["type"]);
        Assert.Contains("podTemplate", (string?)spec["description"], StringComparison.Ordinal);
    }

    [Fact]
    public void Drift_Should_BeDetected_When_AFieldExistsOnlyInCSharp()
    {
        // Guards the guard: a schema without "seed" must be reported.
        var schema = (JsonObject)Schema["properties"]!["spec"]!.DeepClone();
        ((JsonObject)schema["properties"]!["training"]!["properties"]!).Remove("seed");
        var problems = new List<string>();

        Compare(typeof(TrainingJobSpec), schema, "spec", problems);

        Assert.Contains(problems, p => p.Contains("spec.training.seed", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("fashion-mnist-s3.yaml")]
    [InlineData("fashion-mnist-recipe.yaml")]
    [InlineData("gpu-spot.yaml")]
    [InlineData("fer2013-csv.yaml")]
    [InlineData("resnet18-image-folder.yaml")]
    [InlineData("resnet18-image-folder-pvc.yaml")]
    public void Example_Should_UseOnlySchemaFieldsAndPassValidation_When_Parsed(string file)
    {
        var path = Path.Combine(RepositoryPaths.Root, "examples", file);
        var node = LoadYaml(path);
        var problems = new List<string>();

        CheckAgainstSchema(node["spec"]!, (JsonObject)Schema["properties"]!["spec"]!, "spec", problems);
        var job = KubernetesYaml.Deserialize<TrainingJob>(File.ReadAllText(path));

        Assert.Empty(problems);
        Assert.Equal(TrainingJob.KubeKind, job.Kind);
        Assert.Empty(SpecValidator.Validate(job.Spec));
        Assert.NotNull(job.Spec.Checkpoint?.Uri);
        Assert.NotNull(job.Spec.Checkpoint?.SecretName);
    }

    [Fact]
    public void RecipeExample_Should_TrainTheIssuesRecipe_When_Parsed()
    {
        var t = KubernetesYaml.Deserialize<TrainingJob>(File.ReadAllText(Path.Combine(RepositoryPaths.Root, "examples", "fashion-mnist-recipe.yaml"))).Spec.Training!;

        Assert.Equal((ModelNames.Cnn, DatasetNames.FashionMnist, SchedulerNames.OneCycle, (bool?)true), (t.Model, t.Dataset, t.Schedule?.Type, t.LrFinder?.Auto));
        Assert.Null(t.LearningRate);
        Assert.Equal(0.1, t.LabelSmoothing);
        Assert.True(t.Mixing?.MixupAlpha > 0 && t.Mixing.OffLastEpochs > 0, "mixup for the first epochs only");
        Assert.True(t.EmaDecay > 0, "an EMA of the weights");
        Assert.True(t.ValidationFraction > 0, "the best checkpoint needs a validation split");
        Assert.InRange(t.Epochs ?? 1, 1, 10);
    }

    [Fact]
    public void GpuExample_Should_AskForAGpuOnSpotNodes_When_Parsed()
    {
        var job = KubernetesYaml.Deserialize<TrainingJob>(File.ReadAllText(Path.Combine(RepositoryPaths.Root, "examples", "gpu-spot.yaml")));

        Assert.True(job.Spec.Resources?.Limits?.ContainsKey("nvidia.com/gpu"));
        Assert.NotEmpty(job.Spec.NodeSelector!);
        Assert.Contains(job.Spec.Tolerations!, t => t.Key == "nvidia.com/gpu");
        Assert.Equal("cnn", job.Spec.Training!.Model);
    }

    [Fact]
    public void Fer2013Example_Should_TrainACsvWithAutoClassWeightsAndTheFocalLoss_When_Parsed()
    {
        var job = KubernetesYaml.Deserialize<TrainingJob>(File.ReadAllText(Path.Combine(RepositoryPaths.Root, "examples", "fer2013-csv.yaml")));

        Assert.Equal((DatasetNames.CsvImages, ClassWeightModes.Auto, LossNames.Focal), (job.Spec.Training!.Dataset, job.Spec.Training!.ClassWeights, job.Spec.Training!.Loss));
        Assert.Equal(ModelNames.ResNet18, job.Spec.Training!.Model);
    }

    [Fact]
    public void ImageFolderExample_Should_TrainAResNet18OnAnImageFolder_When_Parsed()
    {
        var job = KubernetesYaml.Deserialize<TrainingJob>(File.ReadAllText(Path.Combine(RepositoryPaths.Root, "examples", "resnet18-image-folder.yaml")));

        Assert.Equal((ModelNames.ResNet18, DatasetNames.ImageFolder), (job.Spec.Training!.Model, job.Spec.Training!.Dataset));
        Assert.NotNull(job.Spec.Training!.DataPath);
        Assert.True(job.Spec.Training!.Augmentation?.HorizontalFlip);
    }

    [Fact]
    public void Schema_Should_BoundEveryInteger_When_TheOperatorOrTheTrainerReadsIt()
    {
        // An integer the schema lets through but an int cannot hold makes the object undecodable (issue 11: samples 3000000000).
        var unbounded = new List<string>();
        FindIntegers((JsonObject)Schema["properties"]!["spec"]!, "spec", (path, node) =>
        {
            if (node["minimum"] is null || node["maximum"] is null)
            {
                unbounded.Add(path);
            }
            else if ((string?)node["format"] == "int32" && double.Parse((string)node["maximum"]!, System.Globalization.CultureInfo.InvariantCulture) > int.MaxValue)
            {
                unbounded.Add($"{path} (maximum beyond int32)");
            }
        });

        Assert.Empty(unbounded);
    }

    [Theory]
    [InlineData("limits")]
    [InlineData("requests")]
    public void Schema_Should_AcceptOnlyKubernetesQuantities_When_ResourcesAreGiven(string field)
    {
        var values = (JsonObject)Schema["properties"]!["spec"]!["properties"]!["resources"]!["properties"]![field]!["additionalProperties"]!;
        var pattern = new System.Text.RegularExpressions.Regex((string)values["pattern"]!);

        Assert.Equal("true", values["x-kubernetes-int-or-string"]!.ToString());
        foreach (var quantity in new[] { "4Gi", "500m", "1", "0.5", "1.5G", "1e3", "+2", ".5Ki" })
        {
            Assert.Matches(pattern, quantity);
            // What the schema lets through, the operator's model decodes.
            Assert.NotNull(KubernetesJson.Deserialize<V1ResourceRequirements>("{\"" + field + "\":{\"memory\":\"" + quantity + "\"}}"));
        }

        foreach (var junk in new[] { "lots", "4GB", "1.5 Gi", "", "Gi", "1Kib" })
        {
            Assert.DoesNotMatch(pattern, junk);
        }
    }

    private static void FindIntegers(JsonObject schema, string path, Action<string, JsonObject> found)
    {
        if ((string?)schema["type"] == "integer")
        {
            found(path, schema);
        }

        foreach (var (name, child) in schema["properties"] as JsonObject ?? [])
        {
            FindIntegers((JsonObject)child!, $"{path}.{name}", found);
        }

        if (schema["items"] is JsonObject items)
        {
            FindIntegers(items, path + "[]", found);
        }

        if (schema["additionalProperties"] is JsonObject values)
        {
            FindIntegers(values, path + "[*]", found);
        }
    }

    private static IEnumerable<string?> Enum(JsonNode? node) => node!["enum"]!.AsArray().Select(n => (string?)n);

    private static JsonNode? Walk(JsonNode schema, IEnumerable<string> path)
    {
        var node = schema;
        foreach (var part in path)
        {
            node = node?["properties"]?[part];
        }

        return node;
    }

    private static void Compare(Type type, JsonObject schema, string path, List<string> problems)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        var schemaType = (string?)schema["type"];

        if (type == typeof(string))
        {
            Expect(schemaType == "string", $"{path}: C# string but schema type {schemaType}");
            return;
        }

        if (type == typeof(int) || type == typeof(long))
        {
            Expect(schemaType == "integer", $"{path}: C# {type.Name} but schema type {schemaType}");
            Expect((string?)schema["format"] == (type == typeof(int) ? "int32" : "int64"), $"{path}: C# {type.Name} but schema format {(string?)schema["format"]}");
            return;
        }

        if (type == typeof(double))
        {
            Expect(schemaType == "number", $"{path}: C# double but schema type {schemaType}");
            return;
        }

        if (type == typeof(bool))
        {
            Expect(schemaType == "boolean", $"{path}: C# bool but schema type {schemaType}");
            return;
        }

        if (type == typeof(DateTime))
        {
            Expect(schemaType == "string" && (string?)schema["format"] == "date-time", $"{path}: C# DateTime but schema {schemaType}/{(string?)schema["format"]}");
            return;
        }

        var dictionary = type.GetInterfaces().Append(type).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>));
        if (dictionary is not null)
        {
            Expect(schemaType == "object" && schema["additionalProperties"] is JsonObject, $"{path}: C# dictionary but schema has no additionalProperties");
            if (schema["additionalProperties"] is JsonObject values)
            {
                Compare(dictionary.GetGenericArguments()[1], values, path + "[*]", problems);
            }

            return;
        }

        var list = type.GetInterfaces().Append(type).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IList<>));
        if (list is not null && type != typeof(string))
        {
            Expect(schemaType == "array" && schema["items"] is JsonObject, $"{path}: C# list but schema type {schemaType}");
            if (schema["items"] is JsonObject items)
            {
                Compare(list.GetGenericArguments()[0], items, path + "[]", problems);
            }

            return;
        }

        if (type == typeof(ResourceQuantity) || type.Name.EndsWith("IntOrString", StringComparison.Ordinal))
        {
            Expect((bool?)schema["x-kubernetes-int-or-string"] == true, $"{path}: C# {type.Name} but schema is not x-kubernetes-int-or-string");
            return;
        }

        Expect(schemaType == "object", $"{path}: C# {type.Name} but schema type {schemaType}");
        var preserves = (bool?)schema["x-kubernetes-preserve-unknown-fields"] == true;
        if (type.Namespace == typeof(V1Pod).Namespace && type != typeof(V1Condition) && !preserves && schema["properties"] is null)
        {
            // Embedded core types: a full schema (every field, checked both ways below) or, where the API server
            // validates them again when the pod is created, one that preserves unknown fields.
            problems.Add($"{path}: embedded {type.Name} should list its fields or preserve unknown fields");
            return;
        }

        var csharp = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(p => (Property: p, Name: p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name))
            .Where(p => p.Name is not null && p.Property.GetCustomAttribute<JsonIgnoreAttribute>() is null)
            .ToDictionary(p => p.Name!, p => p.Property);
        var properties = schema["properties"] as JsonObject ?? [];
        // A schema that preserves unknown fields may list only some of them; each one listed must still exist.
        foreach (var name in preserves ? [] : csharp.Keys.Except(properties.Select(p => p.Key)))
        {
            problems.Add($"{path}.{name}: in C# ({type.Name}) but not in the schema");
        }

        foreach (var name in properties.Select(p => p.Key).Except(csharp.Keys))
        {
            problems.Add($"{path}.{name}: in the schema but not in C# ({type.Name})");
        }

        if (type.Namespace != typeof(V1Pod).Namespace)
        {
            var requiredInCSharp = csharp.Where(p => p.Value.GetCustomAttribute<RequiredMemberAttribute>() is not null).Select(p => p.Key).Order().ToList();
            var requiredInSchema = (schema["required"] as JsonArray ?? []).Select(n => (string)n!).Order().ToList();
            Expect(requiredInCSharp.SequenceEqual(requiredInSchema), $"{path}: required in C# [{string.Join(",", requiredInCSharp)}] but in schema [{string.Join(",", requiredInSchema)}]");
        }

        foreach (var (name, property) in csharp)
        {
            if (properties[name] is JsonObject child)
            {
                Compare(property.PropertyType, child, $"{path}.{name}", problems);
            }
        }

        void Expect(bool ok, string problem)
        {
            if (!ok)
            {
                problems.Add(problem);
            }
        }
    }

    private static void CheckAgainstSchema(JsonNode value, JsonObject schema, string path, List<string> problems)
    {
        if ((bool?)schema["x-kubernetes-preserve-unknown-fields"] == true)
        {
            return;
        }

        switch (value)
        {
            case JsonObject obj when schema["properties"] is JsonObject properties:
                foreach (var (key, child) in obj)
                {
                    if (properties[key] is JsonObject childSchema)
                    {
                        CheckAgainstSchema(child!, childSchema, $"{path}.{key}", problems);
                    }
                    else
                    {
                        problems.Add($"{path}.{key}: not in the schema");
                    }
                }

                break;
            case JsonArray array when schema["items"] is JsonObject items:
                foreach (var item in array)
                {
                    CheckAgainstSchema(item!, items, path + "[]", problems);
                }

                break;
            case JsonValue when schema["enum"] is JsonArray allowed:
                if (!allowed.Select(a => (string?)a).Contains(value.ToString()))
                {
                    problems.Add($"{path}: {value} is not one of the enum values");
                }

                break;
        }
    }

    internal static JsonObject LoadYaml(string path)
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(path))
        {
            stream.Load(reader);
        }

        return (JsonObject)ToJson(stream.Documents[0].RootNode)!;
    }

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(kv => KeyValuePair.Create(((YamlScalarNode)kv.Key).Value!, ToJson(kv.Value)))),
        YamlSequenceNode seq => new JsonArray(seq.Children.Select(ToJson).ToArray()),
        YamlScalarNode { Value: "true" or "false" } s when s.Style == YamlDotNet.Core.ScalarStyle.Plain => JsonValue.Create(s.Value == "true"),
        YamlScalarNode s => JsonValue.Create(s.Value),
        _ => null,
    };
}
