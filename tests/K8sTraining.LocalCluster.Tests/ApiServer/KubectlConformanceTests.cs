using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace K8sTraining.LocalCluster.Tests.ApiServer;

/// <summary>The real kubectl 1.32 against the local API server: what a user types must work as on a real cluster.</summary>
[Trait("Category", "Integration")]
public sealed class KubectlConformanceTests(ControlPlaneFixture fx) : IClassFixture<ControlPlaneFixture>
{
    private static string ConfigMap(string ns, string name, string value) => $"""
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: {name}
          namespace: {ns}
          labels:
            app: demo
        data:
          key: "{value}"
          other: kept
        """;

    [Fact]
    public async Task Apply_Should_CreateThenConfigure_When_TheManifestChanges()
    {
        var ns = await fx.NewNamespaceAsync();

        var created = (await fx.KubectlWithInputAsync(TestManifests.Widget(ns, "w1", 3), "apply", "-f", "-")).Succeeded();
        var again = (await fx.KubectlWithInputAsync(TestManifests.Widget(ns, "w1", 3), "apply", "-f", "-")).Succeeded();
        var changed = (await fx.KubectlWithInputAsync(TestManifests.Widget(ns, "w1", 5, "blue"), "apply", "-f", "-")).Succeeded();

        Assert.Contains("widget.test.k8straining.io/w1 created", created.Stdout, StringComparison.Ordinal);
        Assert.Contains("widget.test.k8straining.io/w1 unchanged", again.Stdout, StringComparison.Ordinal);
        Assert.Contains("widget.test.k8straining.io/w1 configured", changed.Stdout, StringComparison.Ordinal);
        var w = await GetWidgetAsync(ns, "w1");
        Assert.Equal(5, (int)w["spec"]!["size"]!);
        Assert.Equal("blue", (string?)w["spec"]!["color"]);
        Assert.Equal(2, (long)w["metadata"]!["generation"]!);
        var lastApplied = (string)w["metadata"]!["annotations"]!["kubectl.kubernetes.io/last-applied-configuration"]!;
        Assert.Contains("\"blue\"", lastApplied, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Apply_Should_StrategicMergeBuiltinKinds_When_ReappliedWithAChange()
    {
        var ns = await fx.NewNamespaceAsync();
        (await fx.KubectlWithInputAsync(ConfigMap(ns, "cm", "one"), "apply", "-f", "-")).Succeeded();
        // A field written by someone else survives the three-way merge, as on a real server.
        await fx.Client.CoreV1.PatchNamespacedConfigMapAsync(
            new V1Patch("""{"data":{"foreign":"x"}}""", V1Patch.PatchType.MergePatch), "cm", ns);

        var result = (await fx.KubectlWithInputAsync(ConfigMap(ns, "cm", "two").Replace("\n  other: kept", "", StringComparison.Ordinal), "apply", "-f", "-")).Succeeded();

        Assert.Contains("configmap/cm configured", result.Stdout, StringComparison.Ordinal);
        var cm = await fx.Client.CoreV1.ReadNamespacedConfigMapAsync("cm", ns);
        Assert.Equal("two", cm.Data["key"]);
        Assert.Equal("x", cm.Data["foreign"]);
        Assert.False(cm.Data.ContainsKey("other"), "a key removed from the manifest is removed by apply");
        Assert.Contains(fx.Plane.AuditLog.Entries, e => e.Verb == "patch" && e.Resource == "configmaps" && e.Namespace == ns);
    }

    [Fact]
    public async Task Get_Should_PrintTheCrdPrinterColumns_When_ListingCustomResources()
    {
        var ns = await fx.NewNamespaceAsync();
        (await fx.KubectlWithInputAsync(TestManifests.Widget(ns, "small", 2), "apply", "-f", "-")).Succeeded();
        await fx.Client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(
            new V1Patch("""{"status":{"conditions":[{"type":"Ready","status":"True"}]}}""", V1Patch.PatchType.MergePatch),
            TestManifests.Group, "v1", ns, TestManifests.Plural, "small");

        var table = (await fx.KubectlAsync("get", "widgets", "-n", ns)).Succeeded().Stdout;
        var shortName = (await fx.KubectlAsync("get", "wd", "small", "-n", ns, "--no-headers")).Succeeded().Stdout;

        var lines = table.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^NAME\s+SIZE\s+COLOR\s+READY\s+AGE$", lines[0]);
        Assert.Matches(@"^small\s+2\s+red\s+True\s+\d+s$", lines[1]);
        Assert.StartsWith("small", shortName, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_Should_PrintPodColumns_When_ListingPodsWide()
    {
        var ns = await fx.NewNamespaceAsync();
        (await fx.KubectlAsync("run", "p", "-n", ns, "--image=busybox", "--restart=Never", "--", "sleep", "1")).Succeeded();

        var output = (await fx.KubectlAsync("get", "pods", "-n", ns, "-o", "wide")).Succeeded().Stdout;

        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$", lines[0]);
        Assert.Matches(@"^p\s+0/1\s+Pending\s+0\s+\d+s\s+<none>\s+local-node\s+", lines[1]);
    }

    [Fact]
    public async Task GetYaml_Should_ShowServerSetFieldsAndDefaults_When_ObjectWasCreated()
    {
        var ns = await fx.NewNamespaceAsync();
        (await fx.KubectlWithInputAsync(TestManifests.Widget(ns, "yml", 4), "apply", "-f", "-")).Succeeded();

        var yaml = (await fx.KubectlAsync("get", "widget", "yml", "-n", ns, "-o", "yaml")).Succeeded().Stdout;

        Assert.Contains("kind: Widget", yaml, StringComparison.Ordinal);
        Assert.Matches(@"uid: [0-9a-f-]{36}", yaml);
        Assert.Matches(@"resourceVersion: ""\d+""", yaml);
        Assert.Matches(@"creationTimestamp: ""\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ""", yaml);
        Assert.Contains("mode: fast", yaml, StringComparison.Ordinal);
        Assert.Contains("generation: 1", yaml, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Describe_Should_ShowTheObjectAndItsEvents_When_EventsReferToIt()
    {
        var ns = await fx.NewNamespaceAsync();
        (await fx.KubectlWithInputAsync(TestManifests.Widget(ns, "d", 1), "apply", "-f", "-")).Succeeded();
        var w = await GetWidgetAsync(ns, "d");
        await fx.Client.CoreV1.CreateNamespacedEventAsync(new Corev1Event
        {
            Metadata = new V1ObjectMeta { Name = "d.1", NamespaceProperty = ns },
            InvolvedObject = new V1ObjectReference
            {
                ApiVersion = "test.k8straining.io/v1", Kind = "Widget", Name = "d", NamespaceProperty = ns,
                Uid = (string)w["metadata"]!["uid"]!,
            },
            Reason = "Polished",
            Message = "the widget shines",
            Type = "Normal",
            Count = 1,
            FirstTimestamp = DateTime.UtcNow,
            LastTimestamp = DateTime.UtcNow,
            Source = new V1EventSource { Component = "test" },
        }, ns);

        var output = (await fx.KubectlAsync("describe", "widget", "d", "-n", ns)).Succeeded().Stdout;

        Assert.Contains("Name:         d", output, StringComparison.Ordinal);
        Assert.Contains("Size:", output, StringComparison.Ordinal);
        Assert.Matches(@"Normal\s+Polished\s+.*the widget shines", output);
    }

    [Fact]
    public async Task Describe_Should_ShowPodDetails_When_DescribingAPod()
    {
        var ns = await fx.NewNamespaceAsync();
        (await fx.KubectlAsync("run", "dp", "-n", ns, "--image=busybox", "--restart=Never", "--labels=app=x", "--", "sleep", "1")).Succeeded();

        var output = (await fx.KubectlAsync("describe", "pod", "dp", "-n", ns)).Succeeded().Stdout;

        Assert.Contains("Node:             local-node", output, StringComparison.Ordinal);
        Assert.Contains("Service Account:  default", output, StringComparison.Ordinal);
        Assert.Matches(@"PodScheduled\s+True", output);
        Assert.Contains("Labels:           app=x", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Patch_Should_ApplyMergeJsonAndStrategicPatches_When_KubectlSendsThem()
    {
        var ns = await fx.NewNamespaceAsync();
        (await fx.KubectlWithInputAsync(TestManifests.Widget(ns, "p", 1), "apply", "-f", "-")).Succeeded();
        (await fx.KubectlAsync("run", "pp", "-n", ns, "--image=busybox:1", "--restart=Never", "--", "sleep", "1")).Succeeded();

        (await fx.KubectlAsync("patch", "widget", "p", "-n", ns, "--type=merge", "-p", """{"spec":{"size":7,"color":null}}""")).Succeeded();
        (await fx.KubectlAsync("patch", "widget", "p", "-n", ns, "--type=json", "-p", """[{"op":"replace","path":"/spec/size","value":8},{"op":"add","path":"/metadata/labels","value":{"a":"b"}}]""")).Succeeded();
        (await fx.KubectlAsync("patch", "pod", "pp", "-n", ns, "-p", """{"spec":{"containers":[{"name":"pp","image":"busybox:2"}]}}""")).Succeeded();
        var strategicOnCustom = await fx.KubectlAsync("patch", "widget", "p", "-n", ns, "--type=strategic", "-p", """{"spec":{"size":9}}""");
        var failedTest = await fx.KubectlAsync("patch", "widget", "p", "-n", ns, "--type=json", "-p", """[{"op":"test","path":"/spec/size","value":1}]""");

        var w = await GetWidgetAsync(ns, "p");
        Assert.Equal(8, (int)w["spec"]!["size"]!);
        Assert.Null(w["spec"]!["color"]);
        Assert.Equal("b", (string?)w["metadata"]!["labels"]!["a"]);
        var pod = await fx.Client.CoreV1.ReadNamespacedPodAsync("pp", ns);
        Assert.Equal("busybox:2", pod.Spec.Containers.Single().Image);
        Assert.NotEqual(0, strategicOnCustom.ExitCode);
        Assert.Contains("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json", strategicOnCustom.Stderr, StringComparison.Ordinal);
        Assert.NotEqual(0, failedTest.ExitCode);
    }

    [Fact]
    public async Task Delete_Should_RemoveAtOnce_When_NoFinalizersRemain()
    {
        var ns = await fx.NewNamespaceAsync();
        (await fx.KubectlWithInputAsync(TestManifests.Widget(ns, "gone", 1), "apply", "-f", "-")).Succeeded();

        var result = (await fx.KubectlAsync("delete", "widget", "gone", "-n", ns)).Succeeded();
        var get = await fx.KubectlAsync("get", "widget", "gone", "-n", ns);

        Assert.Contains("widget.test.k8straining.io \"gone\" deleted", result.Stdout, StringComparison.Ordinal);
        Assert.NotEqual(0, get.ExitCode);
        Assert.Contains("Error from server (NotFound): widgets.test.k8straining.io \"gone\" not found", get.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Delete_Should_KeepTheObjectTerminating_When_FinalizersRemain()
    {
        var ns = await fx.NewNamespaceAsync();
        var manifest = TestManifests.Widget(ns, "held", 1).Replace($"  namespace: {ns}\n", $"  namespace: {ns}\n  finalizers: [test.k8straining.io/hold]\n", StringComparison.Ordinal);
        (await fx.KubectlWithInputAsync(manifest, "apply", "-f", "-")).Succeeded();

        (await fx.KubectlAsync("delete", "widget", "held", "-n", ns, "--wait=false")).Succeeded();
        var terminating = await GetWidgetAsync(ns, "held");
        (await fx.KubectlAsync("patch", "widget", "held", "-n", ns, "--type=merge", "-p", """{"metadata":{"finalizers":null}}""")).Succeeded();

        Assert.NotNull(terminating["metadata"]!["deletionTimestamp"]);
        await Eventually.TrueAsync(async () => (await fx.KubectlAsync("get", "widget", "held", "-n", ns)).ExitCode != 0, "the widget is gone once its finalizer is removed");
    }

    [Fact]
    public async Task Replace_Should_Conflict_When_TheResourceVersionIsStale()
    {
        var ns = await fx.NewNamespaceAsync();
        (await fx.KubectlWithInputAsync(ConfigMap(ns, "c", "1"), "apply", "-f", "-")).Succeeded();
        var stale = (await fx.KubectlAsync("get", "configmap", "c", "-n", ns, "-o", "json")).Succeeded().Stdout;
        (await fx.KubectlAsync("patch", "configmap", "c", "-n", ns, "-p", """{"data":{"key":"2"}}""")).Succeeded();

        var result = await fx.KubectlWithInputAsync(stale, "replace", "-f", "-");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("Operation cannot be fulfilled on configmaps \"c\": the object has been modified; please apply your changes to the latest version and try again", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_Should_FilterByLabelAndFieldSelectors_When_KubectlPassesThem()
    {
        var ns = await fx.NewNamespaceAsync();
        foreach (var (name, labels) in new[] { ("a", "app=web,tier=front"), ("b", "app=web,tier=back"), ("c", "app=db") })
        {
            (await fx.KubectlAsync("run", name, "-n", ns, "--image=busybox", "--restart=Never", $"--labels={labels}", "--", "sleep", "1")).Succeeded();
        }

        async Task<string> Names(params string[] selector) =>
            string.Join(",", (await fx.KubectlAsync(["get", "pods", "-n", ns, "-o", "name", .. selector])).Succeeded().Stdout
                .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Replace("pod/", "", StringComparison.Ordinal)));

        Assert.Equal("a,b", await Names("-l", "app=web"));
        Assert.Equal("a,b", await Names("-l", "app==web"));
        Assert.Equal("b,c", await Names("-l", "tier!=front"));
        Assert.Equal("a", await Names("-l", "tier in (front),app notin (x)", "--field-selector", "metadata.name!=b"));
        Assert.Equal("c", await Names("-l", "app in (db,cache)"));
        Assert.Equal("a,b", await Names("-l", "tier"));
        Assert.Equal("c", await Names("-l", "!tier"));
        Assert.Equal("b", await Names("--field-selector", "metadata.name=b"));
        Assert.Equal("a,b,c", await Names("--field-selector", "spec.nodeName=local-node,status.phase=Pending"));
        Assert.Equal("", await Names("--field-selector", "status.phase=Running"));
    }

    [Fact]
    public async Task Apply_Should_BeRejectedByTheSchema_When_TheCustomResourceIsInvalid()
    {
        var ns = await fx.NewNamespaceAsync();

        var tooSmall = await fx.KubectlWithInputAsync(TestManifests.Widget(ns, "bad", 0), "apply", "-f", "-");
        var wrongEnum = await fx.KubectlWithInputAsync(TestManifests.Widget(ns, "bad", 2, "green"), "apply", "-f", "-");
        var several = await fx.KubectlWithInputAsync(TestManifests.Widget(ns, "bad", 11, "red", "  label: ABCDEFG"), "apply", "-f", "-");
        var wrongType = await fx.KubectlWithInputAsync(TestManifests.Widget(ns, "bad", 2).Replace("size: 2", "size: \"two\"", StringComparison.Ordinal), "apply", "-f", "-");
        var missing = await fx.KubectlWithInputAsync(TestManifests.Widget(ns, "bad", 2).Replace("  size: 2\n", "", StringComparison.Ordinal), "apply", "-f", "-");

        Assert.NotEqual(0, tooSmall.ExitCode);
        Assert.Contains("The Widget \"bad\" is invalid: spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1", tooSmall.Stderr, StringComparison.Ordinal);
        Assert.Contains("spec.color: Unsupported value: \"green\": supported values: \"red\", \"blue\"", wrongEnum.Stderr, StringComparison.Ordinal);
        Assert.Contains("spec.size: Invalid value: 11: spec.size in body should be less than or equal to 10", several.Stderr, StringComparison.Ordinal);
        Assert.Contains("spec.label: Invalid value: \"ABCDEFG\": spec.label in body should be at most 5 chars long", several.Stderr, StringComparison.Ordinal);
        Assert.Contains("spec.label: Invalid value: \"ABCDEFG\": spec.label in body should match '^[a-z]+$'", several.Stderr, StringComparison.Ordinal);
        Assert.Contains("spec.size: Invalid value: \"string\": spec.size in body must be of type integer: \"string\"", wrongType.Stderr, StringComparison.Ordinal);
        Assert.Contains("spec.size: Required value", missing.Stderr, StringComparison.Ordinal);
        Assert.NotEqual(0, (await fx.KubectlAsync("get", "widget", "bad", "-n", ns)).ExitCode);
    }

    [Fact]
    public async Task Apply_Should_RejectUnknownFields_When_KubectlValidatesStrictly()
    {
        var ns = await fx.NewNamespaceAsync();

        var strict = await fx.KubectlWithInputAsync(TestManifests.Widget(ns, "u", 2, "red", "  bogus: 1"), "apply", "-f", "-");
        var lax = await fx.KubectlWithInputAsync(TestManifests.Widget(ns, "u", 2, "red", "  bogus: 1\n  extra:\n    anything: goes"), "apply", "--validate=false", "-f", "-");

        Assert.NotEqual(0, strict.ExitCode);
        Assert.Contains("unknown field \"spec.bogus\"", strict.Stderr, StringComparison.Ordinal);
        lax.Succeeded();
        var w = await GetWidgetAsync(ns, "u");
        Assert.Null(w["spec"]!["bogus"]);
        Assert.Equal("goes", (string?)w["spec"]!["extra"]!["anything"]);
    }

    [Fact]
    public async Task Apply_Should_InstallEveryCrdOfTheRepository_When_AppliedLikeOnARealCluster()
    {
        var crds = Directory.GetFiles(Path.Combine(Hosting.RepositoryRoot.Find(), "crds"), "*.yaml");
        Assert.NotEmpty(crds);

        foreach (var file in crds)
        {
            (await fx.KubectlAsync("apply", "-f", file)).Succeeded();
        }

        var resources = (await fx.KubectlAsync("api-resources", "--api-group=k8straining.io")).Succeeded().Stdout;
        Assert.Contains("trainingjobs", resources, StringComparison.Ordinal);
        (await fx.KubectlAsync("get", "trainingjobs", "-A")).Succeeded();
    }

    [Fact]
    public async Task Get_Should_ShowWhereATrainingJobWillResume_When_ListedWide()
    {
        (await fx.KubectlAsync("apply", "-f", Path.Combine(Hosting.RepositoryRoot.Find(), "crds", "trainingjobs.k8straining.io.yaml"))).Succeeded();
        var ns = await fx.NewNamespaceAsync();
        var manifest = $$"""
            apiVersion: k8straining.io/v1alpha1
            kind: TrainingJob
            metadata: {name: mnist, namespace: {{ns}}}
            spec:
              training: {model: cnn, dataset: synthetic}
            """;
        await Eventually.TrueAsync(async () => (await fx.KubectlWithInputAsync(manifest, "apply", "-f", "-")).ExitCode == 0, "the TrainingJob API to be served", TimeSpan.FromSeconds(10));
        await fx.Client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(
            new V1Patch("""{"status":{"phase":"Running","attempt":2,"preemptions":1,"restarts":0,"activePod":"mnist-attempt-2","workersReady":"2/2","stage":{"name":"full-size","index":2,"total":3},"progress":{"globalStep":1234,"epoch":2,"stepInEpoch":296},"resumeFrom":{"globalStep":1200,"epoch":2,"stepInEpoch":262,"location":"s3://b/p/step-000000001200","uploaded":true}}}""", V1Patch.PatchType.MergePatch),
            "k8straining.io", "v1alpha1", ns, "trainingjobs", "mnist");

        var lines = (await fx.KubectlAsync("get", "tj", "mnist", "-n", ns, "-o", "wide")).Succeeded().Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Matches(@"^NAME\s+PHASE\s+STAGE\s+EPOCH\s+STEP\s+PREEMPTIONS\s+RESTARTS\s+WORKERS\s+AGE\s+RESUME STEP\s+ACCURACY\s+BEST\s+POD\s+LOST NODE$", lines[0]);
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(lines[1], @"^mnist\s+Running\s+full-size\s+2\s+1234\s+1\s+0\s+2/2\s+\d+s\s+1200\s+mnist-attempt-2\s*$"), lines[1]);
        Assert.DoesNotContain("local-node", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_Should_AcceptKubectlsProtobufBodies_When_UsingTypedCreateCommands()
    {
        var ns = $"made-{Guid.NewGuid().ToString("N")[..6]}";

        (await fx.KubectlAsync("create", "namespace", ns)).Succeeded();
        (await fx.KubectlAsync("create", "configmap", "settings", "-n", ns, "--from-literal=epochs=3", "--from-literal=model=cnn")).Succeeded();
        (await fx.KubectlAsync("create", "secret", "generic", "creds", "-n", ns, "--from-literal=AWS_ACCESS_KEY_ID=S3RVER")).Succeeded();
        (await fx.KubectlAsync("create", "serviceaccount", "trainer", "-n", ns)).Succeeded();

        var cm = await fx.Client.CoreV1.ReadNamespacedConfigMapAsync("settings", ns);
        var secret = await fx.Client.CoreV1.ReadNamespacedSecretAsync("creds", ns);
        Assert.Equal("3", cm.Data["epochs"]);
        Assert.Equal("cnn", cm.Data["model"]);
        Assert.Equal("S3RVER", System.Text.Encoding.UTF8.GetString(secret.Data["AWS_ACCESS_KEY_ID"]));
        Assert.Equal("Opaque", secret.Type);
        await fx.Client.CoreV1.ReadNamespacedServiceAccountAsync("trainer", ns);
    }

    [Fact]
    public async Task DeleteNamespace_Should_RemoveItsContentAndThenItself_When_KubectlWaits()
    {
        var ns = await fx.NewNamespaceAsync();
        (await fx.KubectlWithInputAsync(ConfigMap(ns, "inside", "1"), "apply", "-f", "-")).Succeeded();
        (await fx.KubectlWithInputAsync(TestManifests.Widget(ns, "inside", 1), "apply", "-f", "-")).Succeeded();

        var deleted = (await fx.KubectlAsync("delete", "namespace", ns)).Succeeded();
        var undeletable = await fx.KubectlAsync("delete", "namespace", "default");

        Assert.Contains($"namespace \"{ns}\" deleted", deleted.Stdout, StringComparison.Ordinal);
        Assert.NotEqual(0, (await fx.KubectlAsync("get", "namespace", ns)).ExitCode);
        Assert.Empty((await fx.Client.CustomObjects.ListClusterCustomObjectAsync(TestManifests.Group, "v1", TestManifests.Plural) as System.Text.Json.JsonElement?)?
            .GetProperty("items").EnumerateArray().Where(i => i.GetProperty("metadata").GetProperty("namespace").GetString() == ns) ?? []);
        Assert.Contains("Forbidden", undeletable.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Explain_Should_DescribeCustomResourceFields_When_TheCrdHasASchema()
    {
        var output = (await fx.KubectlAsync("explain", "widgets.spec.size")).Succeeded().Stdout;

        Assert.Contains("KIND:       Widget", output, StringComparison.Ordinal);
        Assert.Contains("FIELD: size <integer>", output, StringComparison.Ordinal);
    }

    private async Task<JsonObject> GetWidgetAsync(string ns, string name)
    {
        var obj = await fx.Client.CustomObjects.GetNamespacedCustomObjectAsync(TestManifests.Group, "v1", ns, TestManifests.Plural, name);
        return JsonNode.Parse(KubernetesJson.Serialize(obj))!.AsObject();
    }
}
