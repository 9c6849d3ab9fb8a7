using K8sTraining.NodeAgent.Network;
using k8s.Models;

namespace K8sTraining.LocalCluster.Tests.Network;

[Trait("Category", "Unit")]
public sealed class PodHostsFileTests
{
    private static V1EndpointSlice Slice(string ns, string service, bool headless, params V1Endpoint[] endpoints)
    {
        var labels = new Dictionary<string, string> { [ServiceHostRecords.ServiceNameLabel] = service };
        if (headless)
        {
            labels[ServiceHostRecords.HeadlessLabel] = "";
        }

        return new V1EndpointSlice
        {
            Metadata = new V1ObjectMeta { Name = $"{service}-abcde", NamespaceProperty = ns, Labels = labels },
            AddressType = "IPv4",
            Endpoints = endpoints,
        };
    }

    private static V1Endpoint Endpoint(string address, string? hostname, bool? ready) => new()
    {
        Addresses = [address],
        Hostname = hostname,
        Conditions = new V1EndpointConditions { Ready = ready },
    };

    public static TheoryData<string, V1EndpointSlice, string[]> RecordCases => new()
    {
        { "a ready pod with a hostname", Slice("ns", "workers", true, Endpoint("127.1.0.5", "w-0", true)), ["ns/workers/w-0/127.1.0.5"] },
        { "a not-ready pod is left out", Slice("ns", "workers", true, Endpoint("127.1.0.5", "w-0", false)), [] },
        { "a nil ready condition counts as ready", Slice("ns", "workers", true, Endpoint("127.1.0.5", "w-0", null)), ["ns/workers/w-0/127.1.0.5"] },
        { "a pod without a hostname has no name", Slice("ns", "workers", true, Endpoint("127.1.0.5", null, true)), [] },
        { "a Service that is not headless gives no pod names", Slice("ns", "web", false, Endpoint("127.1.0.5", "w-0", true)), [] },
        {
            "several pods, sorted",
            Slice("ns", "workers", true, Endpoint("127.2.0.1", "w-1", true), Endpoint("127.1.0.1", "w-0", true)),
            ["ns/workers/w-0/127.1.0.1", "ns/workers/w-1/127.2.0.1"]
        },
    };

    [Theory]
    [MemberData(nameof(RecordCases))]
    public void From_Should_NameTheReadyPodsOfHeadlessServices_When_GivenTheirSlices(string name, V1EndpointSlice slice, string[] expected)
    {
        var records = ServiceHostRecords.From([slice]);

        Assert.Equal(expected, records.Select(r => $"{r.Namespace}/{r.Service}/{r.Hostname}/{r.Address}"));
        Assert.NotEmpty(name);
    }

    [Fact]
    public void Render_Should_WriteTheKubeletLineThenTheClusterDnsNames_When_ThePodHasASubdomain()
    {
        var text = PodHostsFile.Render(
            new PodIdentity("ns", "w-1", "workers", "127.1.0.2"),
            [new ServiceHostRecord("ns", "workers", "w-0", "127.2.0.1"), new ServiceHostRecord("other", "svc", "p", "127.1.0.9")]);

        Assert.Equal(
            """
            # Kubernetes-managed hosts file (the local cluster's node agent; rewritten as Services' endpoints change).
            127.1.0.2	w-1.workers.ns.svc.cluster.local	w-1
            127.2.0.1	w-0.workers w-0.workers.ns.svc w-0.workers.ns.svc.cluster.local
            127.1.0.9	p.svc.other.svc p.svc.other.svc.cluster.local

            """.ReplaceLineEndings("\n"),
            text);
    }

    [Fact]
    public void Render_Should_NameThePodByItsHostnameAlone_When_ItHasNoSubdomain()
    {
        Assert.EndsWith("\n127.1.0.2\tmy-pod\n", PodHostsFile.Render(new PodIdentity("ns", "my-pod", null, "127.1.0.2"), []), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("spec.hostname wins", "pod", "host", "host")]
    [InlineData("the pod name otherwise", "pod", null, "pod")]
    [InlineData("cut to 63 without a trailing dash", "a23456789-123456789-123456789-123456789-123456789-123456789-12-4567", null, "a23456789-123456789-123456789-123456789-123456789-123456789-12")]
    public void Of_Should_GiveTheKubeletsHostname_When_AskedForAPod(string name, string podName, string? hostname, string expected)
    {
        var pod = new V1Pod { Metadata = new V1ObjectMeta { Name = podName }, Spec = new V1PodSpec { Hostname = hostname } };

        Assert.Equal(expected, PodHostname.Of(pod));
        Assert.NotEmpty(name);
    }

    [Theory]
    [InlineData("nothing set before", null, "/lib/podnet.so")]
    [InlineData("the host's library is kept after ours", "/usr/lib/libjemalloc.so", "/lib/podnet.so:/usr/lib/libjemalloc.so")]
    [InlineData("space separated, ours not twice", "/a.so /lib/podnet.so:/b.so", "/lib/podnet.so:/a.so:/b.so")]
    public void Environment_Should_PreloadTheLibraryFirstAndKeepWhatWasPreloaded_When_AContainerStarts(string name, string? preload, string expected)
    {
        var env = PodNetworkLibrary.Environment("/lib/podnet.so", new PodIdentity("ns", "w-0", "workers", "127.1.0.7"), "/pods/x/etc-hosts", preload);

        Assert.Equal(expected, env[PodNetworkLibrary.PreloadVariable]);
        Assert.Equal(("127.1.0.7", "w-0", "/pods/x/etc-hosts"), (env[PodNetworkLibrary.AddressVariable], env[PodNetworkLibrary.HostnameVariable], env[PodNetworkLibrary.HostsVariable]));
        Assert.NotEmpty(name);
    }
}
