using Kubectl = K8sTraining.LocalCluster.Tests.ApiServer.Kubectl;
using K8sTraining.LocalCluster.Tests.NodeAgent;
using k8s.Models;
using Xunit.Abstractions;

namespace K8sTraining.LocalCluster.Tests.Network;

/// <summary>
/// A headless Service's pods by name, as cluster DNS answers them, through the EndpointSlice controller and the pods'
/// hosts files: applied with the real kubectl; a pod is named only while Ready, unless the Service has
/// publishNotReadyAddresses; and a process in a pod resolves the names through the pod network library.
/// </summary>
[Trait("Category", "Integration")]
public sealed class ClusterDnsTests(NodeAgentFixture cluster, ITestOutputHelper output) : IClassFixture<NodeAgentFixture>
{
    [Fact]
    public async Task HostsFile_Should_NameTheReadyPodsOfTheHeadlessService_When_TheirReadinessAndPublishNotReadyAddressesChange()
    {
        var ns = $"dns-{Guid.NewGuid().ToString("N")[..6]}";
        var gate = Path.Combine(cluster.Root, $"{ns}-gate");
        var manifest = $$"""
            apiVersion: v1
            kind: Namespace
            metadata: {name: {{ns}} }
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: peers, namespace: {{ns}} }
            spec:
              clusterIP: None
              selector: {app: peers}
              ports: [{name: rendezvous, port: 29500}]
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: ready-0, namespace: {{ns}}, labels: {app: peers} }
            spec:
              hostname: ready-0
              subdomain: peers
              terminationGracePeriodSeconds: 0
              containers: [{name: main, image: busybox:1.36, command: [sh, -c, exec sleep 300]}]
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: slow-0, namespace: {{ns}}, labels: {app: peers} }
            spec:
              hostname: slow-0
              subdomain: peers
              terminationGracePeriodSeconds: 0
              initContainers: [{name: wait, image: busybox:1.36, command: [sh, -c, 'while [ ! -e {{gate}} ]; do sleep 0.1; done']}]
              containers: [{name: main, image: busybox:1.36, command: [sh, -c, exec sleep 300]}]
            """;
        await KubectlAsync(manifest, "apply", "-f", "-");
        var ready = await cluster.WaitForAsync(Pod(ns, "ready-0"), p => p.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true, "ready-0 Ready");
        var slow = await cluster.WaitForAsync(Pod(ns, "slow-0"), p => !string.IsNullOrEmpty(p.Status?.PodIP), "slow-0 has an address");
        var readyLine = $"{ready.Status.PodIP}\tready-0.peers ready-0.peers.{ns}.svc ready-0.peers.{ns}.svc.cluster.local\n";
        var slowLine = $"{slow.Status.PodIP}\tslow-0.peers slow-0.peers.{ns}.svc slow-0.peers.{ns}.svc.cluster.local\n";

        // The slice: both pods, slow-0 not ready; ready-0's hosts file names ready-0 only.
        var slice = (await KubectlAsync(null, "get", "endpointslices", "-n", ns, "-l", "kubernetes.io/service-name=peers",
            "-o", "jsonpath={range .items[*].endpoints[*]}{.hostname}={.conditions.ready} {end}")).Trim();
        output.WriteLine($"slice: {slice}");
        await Eventually.TrueAsync(() => HostsOf(ready).Contains(readyLine, StringComparison.Ordinal), TimeSpan.FromSeconds(15), $"ready-0's hosts file names ready-0: {HostsOf(ready)}");
        Assert.DoesNotContain("slow-0.peers", HostsOf(ready), StringComparison.Ordinal);
        Assert.Contains("slow-0=false", await WaitForSliceAsync(ns, s => s.Contains("slow-0=false", StringComparison.Ordinal)), StringComparison.Ordinal);

        // publishNotReadyAddresses: the not-ready pod is named too (every pod's file follows), and not after it is unset.
        await KubectlAsync(null, "patch", "service", "peers", "-n", ns, "-p", "{\"spec\":{\"publishNotReadyAddresses\":true}}");
        await Eventually.TrueAsync(() => HostsOf(ready).Contains(slowLine, StringComparison.Ordinal), TimeSpan.FromSeconds(15), "slow-0 named once not-ready addresses are published");
        await Eventually.TrueAsync(() => HostsOf(slow).Contains(readyLine, StringComparison.Ordinal), TimeSpan.FromSeconds(15), "slow-0's own file names ready-0");
        await KubectlAsync(null, "patch", "service", "peers", "-n", ns, "-p", "{\"spec\":{\"publishNotReadyAddresses\":false}}");
        await Eventually.TrueAsync(() => !HostsOf(ready).Contains("slow-0.peers", StringComparison.Ordinal), TimeSpan.FromSeconds(15), "slow-0 no longer named");

        // slow-0 turns Ready: named again.
        await File.WriteAllTextAsync(gate, "");
        await Eventually.TrueAsync(() => HostsOf(ready).Contains(slowLine, StringComparison.Ordinal), TimeSpan.FromSeconds(30), "slow-0 named once Ready");

        // A process in a pod resolves the names as it would through cluster DNS.
        var lookupPod = PodBuilder.Shell(
                "exec /usr/bin/python3 -c 'import socket; print(\" \".join(socket.gethostbyname(n) for n in [\"ready-0.peers\", \"slow-0.peers." + ns + ".svc.cluster.local\"]))'", "lookup")
            .Build();
        lookupPod.Metadata.NamespaceProperty = ns;
        var lookup = await cluster.CreateAsync(lookupPod);
        var done = await cluster.WaitForAsync(lookup, p => p.Status?.Phase is "Succeeded" or "Failed", "the lookup pod ended");
        Assert.Equal($"{ready.Status.PodIP} {slow.Status.PodIP}", (await File.ReadAllTextAsync(cluster.LogFile(done))).Trim());

        // Deleting the Service takes its slice with it (ownerReference), and the names go.
        await KubectlAsync(null, "delete", "service", "peers", "-n", ns);
        await Eventually.TrueAsync(() => !HostsOf(ready).Contains(readyLine, StringComparison.Ordinal) && !HostsOf(ready).Contains(slowLine, StringComparison.Ordinal),
            TimeSpan.FromSeconds(15), "the names gone with the Service");
        Assert.Contains($"{ready.Status.PodIP}\tready-0.peers.{ns}.svc.cluster.local\tready-0\n", HostsOf(ready), StringComparison.Ordinal);
        Assert.Equal("", await WaitForSliceAsync(ns, s => s.Length == 0));
        await KubectlAsync(null, "delete", "namespace", ns, "--wait=false");
    }

    private static V1Pod Pod(string ns, string name) => new() { Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns } };

    private string HostsOf(V1Pod pod)
    {
        var path = Path.Combine(cluster.Root, "nodes", "local-node", "pods", $"{pod.Metadata.NamespaceProperty}_{pod.Metadata.Name}_{pod.Metadata.Uid}", "etc-hosts");
        return File.Exists(path) ? File.ReadAllText(path) : "";
    }

    private async Task<string> WaitForSliceAsync(string ns, Func<string, bool> condition) =>
        await Eventually.ValueAsync(
            async () =>
            {
                var text = (await KubectlAsync(null, "get", "endpointslices", "-n", ns, "-l", "kubernetes.io/service-name=peers",
                    "-o", "jsonpath={range .items[*].endpoints[*]}{.hostname}={.conditions.ready} {end}")).Trim();
                return condition(text) ? text : null;
            },
            TimeSpan.FromSeconds(15),
            "the EndpointSlice");

    private async Task<string> KubectlAsync(string? stdin, params string[] args) =>
        (await Kubectl.RunAsync(cluster.Plane.KubeconfigPath, Path.Combine(cluster.Root, "kubectl-cache"), stdin, args)).Succeeded().Stdout;
}
