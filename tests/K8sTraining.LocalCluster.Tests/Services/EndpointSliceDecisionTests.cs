using System.Text.Json.Nodes;
using K8sTraining.LocalCluster.Controllers.EndpointSlices;

namespace K8sTraining.LocalCluster.Tests.Services;

[Trait("Category", "Unit")]
public sealed class EndpointSliceDecisionTests
{
    private static JsonObject Service(bool headless = true, bool publishNotReady = false) => new()
    {
        ["metadata"] = new JsonObject { ["name"] = "workers", ["namespace"] = "ns", ["uid"] = "svc-uid" },
        ["spec"] = new JsonObject
        {
            ["selector"] = new JsonObject { ["job"] = "a" },
            ["clusterIP"] = headless ? "None" : "10.96.0.11",
            ["publishNotReadyAddresses"] = publishNotReady,
            ["ports"] = new JsonArray(new JsonObject { ["name"] = "rendezvous", ["port"] = 29500, ["targetPort"] = 29500, ["protocol"] = "TCP" }),
        },
    };

    private static JsonObject Pod(string name, string? ip = "127.1.0.5", bool ready = true, string phase = "Running", bool terminating = false,
        string job = "a", string? subdomain = "workers", string ns = "ns")
    {
        var pod = new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns, ["uid"] = $"{name}-uid", ["labels"] = new JsonObject { ["job"] = job } },
            ["spec"] = new JsonObject { ["hostname"] = name, ["subdomain"] = subdomain, ["nodeName"] = "local-node" },
            ["status"] = new JsonObject
            {
                ["phase"] = phase,
                ["podIP"] = ip,
                ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = ready ? "True" : "False" }),
            },
        };
        if (terminating)
        {
            pod["metadata"]!["deletionTimestamp"] = "2026-01-01T00:00:00Z";
        }

        return pod;
    }

    /// <summary>Each endpoint as "name ready/serving/terminating hostname".</summary>
    private static string[] Endpoints(JsonObject slice) =>
        ((JsonArray)slice["endpoints"]!).OfType<JsonObject>().Select(e =>
            $"{(string?)e["targetRef"]?["name"]} {(bool?)e["conditions"]?["ready"]}/{(bool?)e["conditions"]?["serving"]}/{(bool?)e["conditions"]?["terminating"]} {(string?)e["hostname"] ?? "-"}").ToArray();

    public static TheoryData<string, bool, JsonObject, string[]> Cases => new()
    {
        { "a ready pod", false, Pod("w-0"), ["w-0 True/True/False w-0"] },
        { "a not-ready pod is listed, not ready", false, Pod("w-0", ready: false), ["w-0 False/False/False w-0"] },
        { "publishNotReadyAddresses makes it ready", true, Pod("w-0", ready: false), ["w-0 True/False/False w-0"] },
        { "a terminating pod is left out", false, Pod("w-0", terminating: true), [] },
        { "a terminating pod stays when published anyway", true, Pod("w-0", terminating: true), ["w-0 True/True/True w-0"] },
        { "a pod without an address is left out", true, Pod("w-0", ip: null), [] },
        { "an ended pod is left out", true, Pod("w-0", phase: "Succeeded"), [] },
        { "a pod the selector does not select is left out", true, Pod("w-0", job: "b"), [] },
        { "a pod of another namespace is left out", true, Pod("w-0", ns: "other"), [] },
        { "no hostname unless the subdomain names the Service", false, Pod("w-0", subdomain: "elsewhere"), ["w-0 True/True/False -"] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Desired_Should_ListTheSelectedPodsWithTheirConditions_When_TheServiceHasASelector(string name, bool publishNotReady, JsonObject pod, string[] expected)
    {
        var slice = EndpointSliceDecision.Desired(Service(publishNotReady: publishNotReady), [pod]);

        Assert.Equal(expected, Endpoints(slice));
        Assert.NotEmpty(name);
    }

    [Fact]
    public void Desired_Should_LabelOwnAndAddressTheSlice_When_TheServiceIsHeadless()
    {
        var slice = EndpointSliceDecision.Desired(Service(), [Pod("w-1", ip: "127.2.0.1"), Pod("w-0")]);

        var meta = slice["metadata"]!;
        Assert.Equal(EndpointSliceDecision.SliceName("workers", "svc-uid"), (string?)meta["name"]);
        Assert.StartsWith("workers-", (string?)meta["name"], StringComparison.Ordinal);
        Assert.Equal("workers", (string?)meta["labels"]![EndpointSliceDecision.ServiceNameLabel]);
        Assert.Equal(EndpointSliceDecision.ManagedBy, (string?)meta["labels"]![EndpointSliceDecision.ManagedByLabel]);
        Assert.Equal("", (string?)meta["labels"]![EndpointSliceDecision.HeadlessLabel]);
        var owner = meta["ownerReferences"]![0]!;
        Assert.Equal(("Service", "workers", "svc-uid", true), ((string?)owner["kind"], (string?)owner["name"], (string?)owner["uid"], (bool?)owner["controller"]));
        Assert.Equal("IPv4", (string?)slice["addressType"]);
        Assert.Equal(["127.1.0.5", "127.2.0.1"], ((JsonArray)slice["endpoints"]!).Select(e => (string?)e!["addresses"]![0]));
        Assert.Equal(["local-node", "local-node"], ((JsonArray)slice["endpoints"]!).Select(e => (string?)e!["nodeName"]));
        Assert.Equal(("Pod", "ns", "w-0-uid"), ((string?)slice["endpoints"]![0]!["targetRef"]!["kind"], (string?)slice["endpoints"]![0]!["targetRef"]!["namespace"], (string?)slice["endpoints"]![0]!["targetRef"]!["uid"]));
        Assert.Equal("""[{"name":"rendezvous","port":29500,"protocol":"TCP"}]""", slice["ports"]!.ToJsonString());
    }

    [Fact]
    public void Desired_Should_NotLabelTheSliceHeadless_When_TheServiceHasAClusterIP()
    {
        var slice = EndpointSliceDecision.Desired(Service(headless: false), [Pod("w-0")]);

        Assert.False(((JsonObject)slice["metadata"]!["labels"]!).ContainsKey(EndpointSliceDecision.HeadlessLabel));
    }

    [Theory]
    [InlineData("a selector", """{"selector":{"job":"a"}}""", true)]
    [InlineData("no selector", """{}""", false)]
    [InlineData("an empty selector", """{"selector":{}}""", false)]
    public void Manages_Should_TakeOnlyServicesWithASelector_When_AskedAboutAService(string name, string spec, bool expected)
    {
        Assert.Equal(expected, EndpointSliceDecision.Manages(new JsonObject { ["spec"] = JsonNode.Parse(spec) }));
        Assert.NotEmpty(name);
    }
}
