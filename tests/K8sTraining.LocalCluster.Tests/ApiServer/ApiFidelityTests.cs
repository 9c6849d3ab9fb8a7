using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace K8sTraining.LocalCluster.Tests.ApiServer;

/// <summary>
/// What a real API server refuses with 422, refused here too, through the real kubectl and KubernetesClient: names,
/// labels, custom-resource formats and list-map keys, unconditional custom-resource updates, and pod specs.
/// </summary>
[Trait("Category", "Integration")]
public sealed class ApiFidelityTests(ControlPlaneFixture fx) : IClassFixture<ControlPlaneFixture>
{
    private const string GadgetCrd = """
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata:
          name: gadgets.test.k8straining.io
        spec:
          group: test.k8straining.io
          scope: Namespaced
          names: {kind: Gadget, listKind: GadgetList, plural: gadgets, singular: gadget}
          versions:
          - name: v1
            served: true
            storage: true
            schema:
              openAPIV3Schema:
                type: object
                properties:
                  spec:
                    type: object
                    properties:
                      since:
                        type: string
                        format: date-time
                      parts:
                        type: array
                        x-kubernetes-list-type: map
                        x-kubernetes-list-map-keys: [name]
                        items:
                          type: object
                          required: [name]
                          properties:
                            name: {type: string}
                            count: {type: integer}
                      tags:
                        type: array
                        x-kubernetes-list-type: set
                        items: {type: string}
        """;

    private static string Gadget(string ns, string name, string spec) => $"""
        apiVersion: test.k8straining.io/v1
        kind: Gadget
        metadata:
          name: {name}
          namespace: {ns}
        spec:
        {spec}
        """;

    private async Task<string> GadgetNamespaceAsync()
    {
        await Eventually.TrueAsync(async () => (await fx.KubectlWithInputAsync(GadgetCrd, "apply", "-f", "-")).ExitCode == 0, "the Gadget CRD is installed");
        var ns = await fx.NewNamespaceAsync();
        await Eventually.TrueAsync(async () => (await fx.KubectlAsync("get", "gadgets", "-n", ns)).ExitCode == 0, "the Gadget API is served");
        return ns;
    }

    private static string Message(HttpOperationException e) => (string?)JsonNode.Parse(e.Response.Content)?["message"] ?? e.Response.Content;

    private static async Task<HttpOperationException> RefusedAsync(Func<Task> call)
    {
        var e = await Assert.ThrowsAsync<HttpOperationException>(call);
        return e;
    }

    [Theory]
    [InlineData("configmap", 254, "must be no more than 253 characters")]
    [InlineData("event", 254, "must be no more than 253 characters")]
    [InlineData("namespace", 64, "must be no more than 63 characters")]
    [InlineData("service", 64, "must be no more than 63 characters")]
    public async Task Create_Should_Return422_When_TheNameIsLongerThanTheKindAllows(string kind, int length, string message)
    {
        var ns = await fx.NewNamespaceAsync();
        var name = new string('a', length);
        var meta = new V1ObjectMeta { Name = name, NamespaceProperty = ns };
        Func<Task> create = kind switch
        {
            "configmap" => () => fx.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = meta }, ns),
            "event" => () => fx.Client.CoreV1.CreateNamespacedEventAsync(new Corev1Event
            {
                Metadata = meta,
                InvolvedObject = new V1ObjectReference { Kind = "Pod", Name = "p", NamespaceProperty = ns },
                Reason = "Test",
                Message = "m",
            }, ns),
            "namespace" => () => fx.Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = name } }),
            _ => () => fx.Client.CoreV1.CreateNamespacedServiceAsync(new V1Service
            {
                Metadata = meta,
                Spec = new V1ServiceSpec { Ports = [new V1ServicePort { Port = 80 }] },
            }, ns),
        };

        var e = await RefusedAsync(create);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, e.Response.StatusCode);
        Assert.Contains($"metadata.name: Invalid value: \"{name}\": {message}", Message(e), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Apply_Should_Return422_When_ACustomResourceNameIsNotADnsSubdomain()
    {
        var ns = await GadgetNamespaceAsync();

        var result = await fx.KubectlWithInputAsync(Gadget(ns, "Fashion_MNIST", "  since: \"2024-01-02T03:04:05Z\""), "apply", "-f", "-");
        var tooLong = await fx.KubectlWithInputAsync(Gadget(ns, new string('g', 254), "  since: \"2024-01-02T03:04:05Z\""), "apply", "-f", "-");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("The Gadget \"Fashion_MNIST\" is invalid: metadata.name: Invalid value: \"Fashion_MNIST\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'", result.Stderr, StringComparison.Ordinal);
        Assert.NotEqual(0, tooLong.ExitCode);
        Assert.Contains("must be no more than 253 characters", tooLong.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Apply_Should_Return422_When_ALabelKeyOrValueIsInvalid()
    {
        var ns = await GadgetNamespaceAsync();
        string ConfigMap(string labels) => $"""
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: labelled
              namespace: {ns}
              labels:
                {labels}
            """;

        var badValue = await fx.KubectlWithInputAsync(ConfigMap("app: \"has space\""), "apply", "-f", "-");
        var badKey = await fx.KubectlWithInputAsync(ConfigMap("\"bad key\": x"), "apply", "-f", "-");
        var longValue = await fx.KubectlWithInputAsync(ConfigMap($"app: {new string('v', 64)}"), "apply", "-f", "-");
        var onCustom = await fx.KubectlWithInputAsync(Gadget(ns, "g", "  since: \"2024-01-02T03:04:05Z\"").Replace("  namespace:", "  labels: {tier: -front}\n  namespace:", StringComparison.Ordinal), "apply", "-f", "-");
        var good = await fx.KubectlWithInputAsync(ConfigMap("example.com/app: my_value-1.2"), "apply", "-f", "-");

        Assert.Contains("The ConfigMap \"labelled\" is invalid: metadata.labels: Invalid value: \"has space\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.'", badValue.Stderr, StringComparison.Ordinal);
        Assert.Contains("metadata.labels: Invalid value: \"bad key\": name part must consist of alphanumeric characters, '-', '_' or '.'", badKey.Stderr, StringComparison.Ordinal);
        Assert.Contains("must be no more than 63 characters", longValue.Stderr, StringComparison.Ordinal);
        Assert.Contains("The Gadget \"g\" is invalid: metadata.labels: Invalid value: \"-front\"", onCustom.Stderr, StringComparison.Ordinal);
        good.Succeeded();
    }

    [Theory]
    [InlineData("yesterday", false)]
    [InlineData("2024-02-30T00:00:00Z", false)]
    [InlineData("2024-01-02 03:04", false)]
    [InlineData("2024-01-02T03:04:05Z", true)]
    [InlineData("2024-01-02T03:04:05.123456+02:00", true)]
    public async Task Apply_Should_CheckDateTimeFormat_When_TheSchemaSaysFormatDateTime(string since, bool valid)
    {
        var ns = await GadgetNamespaceAsync();

        var result = await fx.KubectlWithInputAsync(Gadget(ns, "dated", $"  since: \"{since}\""), "apply", "-f", "-");

        if (valid)
        {
            result.Succeeded();
        }
        else
        {
            Assert.NotEqual(0, result.ExitCode);
            Assert.Contains($"The Gadget \"dated\" is invalid: spec.since: Invalid value: \"{since}\": spec.since in body must be of type date-time: \"{since}\"", result.Stderr, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Apply_Should_Return422_When_AListMapHasDuplicateKeys()
    {
        var ns = await GadgetNamespaceAsync();

        var duplicate = await fx.KubectlWithInputAsync(Gadget(ns, "dup", "  parts: [{name: a, count: 1}, {name: b}, {name: a, count: 2}]"), "apply", "-f", "-");
        var duplicateSet = await fx.KubectlWithInputAsync(Gadget(ns, "dupset", "  tags: [x, z, x]"), "apply", "-f", "-");
        var unique = await fx.KubectlWithInputAsync(Gadget(ns, "uniq", "  parts: [{name: a}, {name: b}]\n  tags: [x, z]"), "apply", "-f", "-");

        Assert.NotEqual(0, duplicate.ExitCode);
        Assert.Contains("The Gadget \"dup\" is invalid: spec.parts[2]: Duplicate value: map[string]interface {}{\"name\":\"a\"}", duplicate.Stderr, StringComparison.Ordinal);
        Assert.NotEqual(0, duplicateSet.ExitCode);
        Assert.Contains("spec.tags[2]: Duplicate value: \"x\"", duplicateSet.Stderr, StringComparison.Ordinal);
        unique.Succeeded();
    }

    [Fact]
    public async Task Replace_Should_Return422_When_ACustomResourceHasNoResourceVersion()
    {
        var ns = await GadgetNamespaceAsync();
        (await fx.KubectlWithInputAsync(Gadget(ns, "put", "  since: \"2024-01-02T03:04:05Z\""), "apply", "-f", "-")).Succeeded();
        var body = new JsonObject
        {
            ["apiVersion"] = "test.k8straining.io/v1",
            ["kind"] = "Gadget",
            ["metadata"] = new JsonObject { ["name"] = "put", ["namespace"] = ns },
            ["spec"] = new JsonObject { ["since"] = "2025-01-02T03:04:05Z" },
        };

        var e = await RefusedAsync(() => fx.Client.CustomObjects.ReplaceNamespacedCustomObjectAsync(body, "test.k8straining.io", "v1", ns, "gadgets", "put"));
        var viaKubectl = await fx.KubectlWithInputAsync(Gadget(ns, "put", "  since: \"2025-01-02T03:04:05Z\""), "replace", "-f", "-");

        Assert.Equal(HttpStatusCode.UnprocessableEntity, e.Response.StatusCode);
        Assert.Contains("metadata.resourceVersion: Invalid value: 0x0: must be specified for an update", Message(e), StringComparison.Ordinal);
        // kubectl replace sends the resourceVersion it read, so it still works.
        viaKubectl.Succeeded();
    }

    [Theory]
    [InlineData("env: [{}]", "spec.containers[0].env[0].name: Required value")]
    [InlineData("env: [{name: 1BAD, value: x}]", "spec.containers[0].env[0].name: Invalid value: \"1BAD\": a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit")]
    [InlineData("env: [{name: A, value: x, valueFrom: {secretKeyRef: {name: s, key: k}}}]", "spec.containers[0].env[0].valueFrom: Invalid value: \"\": may not be specified when `value` is not empty")]
    [InlineData("env: [{name: A, valueFrom: {secretKeyRef: {name: s}}}]", "spec.containers[0].env[0].valueFrom.secretKeyRef.key: Required value")]
    [InlineData("envFrom: [{prefix: \"9\", secretRef: {name: s}}]", "spec.containers[0].envFrom[0].prefix: Invalid value: \"9\"")]
    [InlineData("ports: [{containerPort: 70000}]", "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive")]
    [InlineData("volumeMounts: [{name: nowhere, mountPath: /x}]", "spec.containers[0].volumeMounts[0].name: Not found: \"nowhere\"")]
    [InlineData("resources: {requests: {cpu: \"2\"}, limits: {cpu: \"1\"}}", "spec.containers[0].resources.requests: Invalid value: \"2\": must be less than or equal to cpu limit of 1")]
    public async Task CreatePod_Should_Return422_When_TheContainerSpecIsInvalid(string containerFields, string message)
    {
        var ns = await fx.NewNamespaceAsync();
        var manifest = $"""
            apiVersion: v1
            kind: Pod
            metadata:
              name: p
              namespace: {ns}
            spec:
              containers:
              - name: trainer
                image: busybox
                {containerFields}
            """;

        var result = await fx.KubectlWithInputAsync(manifest, "create", "-f", "-");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("The Pod \"p\" is invalid: ", result.Stderr, StringComparison.Ordinal);
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
        Assert.NotEqual(0, (await fx.KubectlAsync("get", "pod", "p", "-n", ns)).ExitCode);
    }

    [Theory]
    [InlineData("Trainer", "spec.containers[0].name: Invalid value: \"Trainer\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'")]
    [InlineData("trainer_1", "spec.containers[0].name: Invalid value: \"trainer_1\"")]
    public async Task CreatePod_Should_Return422_When_AContainerNameIsNotADnsLabel(string containerName, string message)
    {
        var ns = await fx.NewNamespaceAsync();
        var pod = new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = "p", NamespaceProperty = ns },
            Spec = new V1PodSpec { Containers = [new V1Container { Name = containerName, Image = "busybox" }] },
        };

        var e = await RefusedAsync(() => fx.Client.CoreV1.CreateNamespacedPodAsync(pod, ns));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, e.Response.StatusCode);
        Assert.Contains(message, Message(e), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreatePod_Should_Return400_When_AQuantityIsMalformed()
    {
        var ns = await fx.NewNamespaceAsync();
        var manifest = $$$$"""
            {"apiVersion":"v1","kind":"Pod","metadata":{"name":"q","namespace":"{{{{ns}}}}"},
             "spec":{"containers":[{"name":"c","image":"busybox","resources":{"limits":{"memory":"lots"}}}]}}
            """;

        var result = await fx.KubectlWithInputAsync(manifest, "create", "--validate=false", "-f", "-");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("quantities must match the regular expression", result.Stderr, StringComparison.Ordinal);
    }
}
