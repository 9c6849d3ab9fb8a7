namespace K8sTraining.LocalCluster.Tests.ApiServer;

/// <summary>
/// The TrainingJob CRD refuses, with the real kubectl and a 422, what the operator could not decode (issue 11): values
/// that are not Kubernetes quantities and integers beyond what the trainer reads.
/// </summary>
[Trait("Category", "Integration")]
public sealed class TrainingJobSchemaTests(ControlPlaneFixture fx) : IClassFixture<ControlPlaneFixture>
{
    [Theory]
    [InlineData("a memory limit that is not a quantity", "resources: {limits: {memory: lots}}", "spec.resources.limits.memory")]
    [InlineData("a cpu request with a unit Kubernetes does not know", "resources: {requests: {cpu: 2cores}}", "spec.resources.requests.cpu")]
    [InlineData("more samples than an int holds", "training: {model: mlp, samples: 3000000000}", "spec.training.samples")]
    [InlineData("a negative seed", "training: {model: mlp, seed: -1}", "spec.training.seed")]
    [InlineData("checkpoints more often than an int counts", "checkpoint: {everySteps: 2147483648}", "spec.checkpoint.everySteps")]
    [InlineData("a ttl beyond an int", "ttlSecondsAfterFinished: 2147483648", "spec.ttlSecondsAfterFinished")]
    [InlineData("two input channels", "training: {model: resnet18, inChannels: 2}", "spec.training.inChannels")]
    [InlineData("a single class", "training: {model: resnet18, numClasses: 1}", "spec.training.numClasses")]
    [InlineData("a stem the trainer does not know", "training: {model: resnet18, stem: tiny}", "spec.training.stem")]
    [InlineData("a validation fraction above the trainer's 0.9", "training: {model: mlp, validationFraction: 0.95}", "spec.training.validationFraction")]
    [InlineData("class weights that are not numbers", "training: {model: mlp, classWeights: 'one,two'}", "spec.training.classWeights")]
    [InlineData("a negative class weight", "training: {model: mlp, classWeights: '1,-1'}", "spec.training.classWeights")]
    [InlineData("a loss the trainer does not know", "training: {model: mlp, loss: hinge}", "spec.training.loss")]
    [InlineData("a loader without workers", "training: {model: mlp, loader: {workers: 0}}", "spec.training.loader.workers")]
    [InlineData("crop padding beyond the trainer's 1024", "training: {model: mlp, augmentation: {randomCropPadding: 1025}}", "spec.training.augmentation.randomCropPadding")]
    [InlineData("a learning rate above the trainer's 10", "training: {model: mlp, learningRate: 20}", "spec.training.learningRate")]
    [InlineData("a schedule the trainer does not know", "training: {model: mlp, schedule: {type: cyclic}}", "spec.training.schedule.type")]
    [InlineData("a decay of 0", "training: {model: mlp, schedule: {gamma: 0}}", "spec.training.schedule.gamma")]
    [InlineData("a negative milestone", "training: {model: mlp, schedule: {type: multistep, milestones: [-1]}}", "spec.training.schedule.milestones[0]")]
    [InlineData("a base momentum of 1", "training: {model: mlp, schedule: {oneCycle: {baseMomentum: 1}}}", "spec.training.schedule.oneCycle.baseMomentum")]
    [InlineData("no batches per optimizer step", "training: {model: mlp, gradAccumulationSteps: 0}", "spec.training.gradAccumulationSteps")]
    [InlineData("an LR finder sweep of 4 steps", "training: {model: mlp, lrFinder: {auto: true, steps: 4}}", "spec.training.lrFinder.steps")]
    [InlineData("a mixing probability of 0", "training: {model: mlp, mixing: {mixupAlpha: 0.2, probability: 0}}", "spec.training.mixing.probability")]
    [InlineData("a label smoothing of 1", "training: {model: mlp, labelSmoothing: 1}", "spec.training.labelSmoothing")]
    [InlineData("an EMA decay of 1", "training: {model: mlp, emaDecay: 1}", "spec.training.emaDecay")]
    [InlineData("two prefixes in one freeze item", "training: {model: mlp, freeze: ['conv1,bn1']}", "spec.training.freeze[0]")]
    [InlineData("a best metric the trainer does not know", "training: {model: mlp, best: {metric: accuracy}}", "spec.training.best.metric")]
    [InlineData("a stage without epochs", "stages: [{name: warmup}]", "spec.stages[0].epochs")]
    [InlineData("a stage name that is no DNS label", "stages: [{name: Warm_Up, epochs: 1}]", "spec.stages[0].name")]
    [InlineData("a data fraction above 1", "stages: [{name: a, epochs: 1, dataFraction: 1.5}]", "spec.stages[0].dataFraction")]
    [InlineData("a stage init the trainer does not know", "stages: [{name: a, epochs: 1}, {name: b, epochs: 1, initFrom: random}]", "spec.stages[1].initFrom")]
    [InlineData("a schedule scope the trainer does not know", "scheduleScope: epoch", "spec.scheduleScope")]
    [InlineData("a fine-tune checkpoint the trainer does not know", "initFrom: {trainingJob: base, checkpoint: newest}", "spec.initFrom.checkpoint")]
    public async Task Apply_Should_RefuseTheJobNamingTheField_When_TheSpecHas(string because, string specFields, string field)
    {
        var ns = await InstallAsync();

        var result = await fx.KubectlWithInputAsync(Job(ns, "bad", specFields), "apply", "-f", "-");

        Assert.True(result.ExitCode != 0, $"{because}: {result}");
        Assert.Contains("is invalid", result.Stderr, StringComparison.Ordinal);
        Assert.Contains(field, result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Apply_Should_AcceptTheJob_When_ResourcesAreKubernetesQuantities()
    {
        var ns = await InstallAsync();

        (await fx.KubectlWithInputAsync(Job(ns, "fine", "resources: {limits: {memory: 4Gi, cpu: 2, nvidia.com/gpu: 1}, requests: {memory: 1.5Gi, cpu: 500m}}"), "apply", "-f", "-")).Succeeded();

        var memory = (await fx.KubectlAsync("get", "tj", "fine", "-n", ns, "-o", "jsonpath={.spec.resources.requests.memory}")).Succeeded().Stdout;
        Assert.Equal("1.5Gi", memory.Trim());
    }

    [Fact]
    public async Task ApplyDryRun_Should_AcceptEveryExample_When_TheServerValidatesThemAgainstTheCrd()
    {
        var ns = await InstallAsync();
        var examples = Directory.GetFiles(Path.Combine(Hosting.RepositoryRoot.Find(), "examples"), "*.yaml");
        Assert.Contains(examples, e => e.EndsWith("fer2013-csv.yaml", StringComparison.Ordinal));
        Assert.Contains(examples, e => e.EndsWith("resnet18-image-folder.yaml", StringComparison.Ordinal));

        foreach (var example in examples)
        {
            var result = await fx.KubectlAsync("apply", "--dry-run=server", "-n", ns, "-f", example);

            Assert.True(result.ExitCode == 0, $"{Path.GetFileName(example)}: {result}");
        }

        // A dry run writes nothing.
        Assert.Equal("", (await fx.KubectlAsync("get", "tj", "-n", ns, "-o", "name")).Succeeded().Stdout.Trim());
    }

    [Theory]
    [InlineData("trainingjobs.spec.training.augmentation", "randomCropPadding", "<integer>")]
    [InlineData("trainingjobs.spec.training.loader", "prefetchBatches", "<integer>")]
    [InlineData("trainingjobs.spec.training.classWeights", "inverse", "<string>")]
    [InlineData("trainingjobs.spec.training.validationFraction", "stratified", "<number>")]
    [InlineData("trainingjobs.spec.training.stem", "small", "<string>")]
    [InlineData("trainingjobs.spec.training.schedule.type", "OneCycleLR", "<string>")]
    [InlineData("trainingjobs.spec.training.schedule.oneCycle", "pctStart", "<Object>")]
    [InlineData("trainingjobs.spec.training.lrFinder.auto", "finder", "<boolean>")]
    [InlineData("trainingjobs.spec.training.mixing.offLastEpochs", "fraction", "<number>")]
    [InlineData("trainingjobs.spec.training.labelSmoothing", "not mixed", "<number>")]
    [InlineData("trainingjobs.spec.training.best.weights", "needs emaDecay", "<string>")]
    [InlineData("trainingjobs.spec.stages", "curriculum", "<[]Object>")]
    [InlineData("trainingjobs.spec.stages.dataFraction", "grows monotonically", "<number>")]
    [InlineData("trainingjobs.spec.scheduleScope", "global", "<string>")]
    [InlineData("trainingjobs.spec.initFrom", "Fine-tuning", "<Object>")]
    [InlineData("trainingjobs.spec.initFrom.checkpoint", "step-N", "<string>")]
    [InlineData("trainingjobs.spec.training.scaleLrWithBatch", "twice the batch", "<boolean>")]
    [InlineData("trainingjobs.status.currentAttempt.observedGeneration", "metadata.generation", "<integer>")]
    public async Task Explain_Should_DescribeTheTrainingField_When_AUserAsksKubectl(string path, string expected, string type)
    {
        await InstallAsync();

        var output = (await fx.KubectlAsync("explain", path)).Succeeded().Stdout;

        Assert.Contains(expected, output, StringComparison.Ordinal);
        Assert.Contains(type, output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a whole float", "1.0", 201, "1")]
    [InlineData("an exponent", "1e3", 201, "1000")]
    [InlineData("a fraction", "1.5", 422, "spec.training.epochs in body must be of type integer: \"number\"")]
    [InlineData("a whole float beyond 2^53", "1e20", 422, "spec.training.epochs in body must be of type integer: \"number\"")]
    [InlineData("an integer beyond int64", "99999999999999999999", 422, "spec.training.epochs in body must be of type integer: \"number\"")]
    [InlineData("a number beyond float64", "1e400", 400, "cannot unmarshal number 1e400 into Go value of type float64")]
    public async Task Create_Should_DecodeTheNumberAsTheApiServerDoes_When_AnIntegerFieldIs(string because, string epochs, int code, string expected)
    {
        // Raw JSON, as a client that is not kubectl sends it: kubectl's YAML decoding would rewrite the number first.
        var ns = await InstallAsync();
        using var http = new HttpClient { BaseAddress = fx.Plane.BaseUri };
        var body = """{"apiVersion":"k8straining.io/v1alpha1","kind":"TrainingJob","metadata":{"name":"n","namespace":"NS"},"spec":{"training":{"model":"mlp","epochs":EPOCHS}}}"""
            .Replace("NS", ns, StringComparison.Ordinal).Replace("EPOCHS", epochs, StringComparison.Ordinal);

        using var response = await http.PostAsync($"apis/k8straining.io/v1alpha1/namespaces/{ns}/trainingjobs", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(code == (int)response.StatusCode, $"{because}: {(int)response.StatusCode} {text}");
        if (code == 201)
        {
            // Stored as an integer, so a client that reads an int (the operator) decodes it.
            var stored = System.Text.Json.Nodes.JsonNode.Parse(text)!["spec"]!["training"]!["epochs"]!.ToJsonString();
            Assert.Equal(expected, stored);
        }
        else
        {
            Assert.Contains(expected, (string?)System.Text.Json.Nodes.JsonNode.Parse(text)!["message"], StringComparison.Ordinal);
        }
    }

    private async Task<string> InstallAsync()
    {
        (await fx.KubectlAsync("apply", "-f", Path.Combine(Hosting.RepositoryRoot.Find(), "crds", "trainingjobs.k8straining.io.yaml"))).Succeeded();
        var ns = await fx.NewNamespaceAsync();
        await Eventually.TrueAsync(async () => (await fx.KubectlAsync("get", "trainingjobs", "-n", ns)).ExitCode == 0, "the TrainingJob API to be served", TimeSpan.FromSeconds(10));
        return ns;
    }

    private static string Job(string ns, string name, string specFields) => $$"""
        apiVersion: k8straining.io/v1alpha1
        kind: TrainingJob
        metadata: {name: {{name}}, namespace: {{ns}}}
        spec:
          {{(specFields.StartsWith("training:", StringComparison.Ordinal) ? "" : "training: {model: mlp}")}}
          {{specFields}}
        """;
}
