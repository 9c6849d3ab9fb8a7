using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace K8sTraining.LocalCluster.Tests.ApiServer;

/// <summary>
/// The admission a real cluster runs on pod creates (ServiceAccount, Priority, PodSecurity), on by default in the local
/// control plane, through the real kubectl and KubernetesClient.
/// </summary>
[Trait("Category", "Integration")]
public sealed class PodAdmissionTests(ControlPlaneFixture fx) : IClassFixture<ControlPlaneFixture>
{
    private static V1Pod Pod(string ns, string name = "x", Action<V1PodSpec>? configure = null)
    {
        var pod = new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
            Spec = new V1PodSpec { Containers = [new V1Container { Name = "trainer", Image = "busybox" }] },
        };
        configure?.Invoke(pod.Spec);
        return pod;
    }

    /// <summary>What the operator's trainer pods set by default: a pod that passes the restricted profile.</summary>
    private static void Restricted(V1PodSpec spec)
    {
        spec.SecurityContext = new V1PodSecurityContext { RunAsNonRoot = true, SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" } };
        spec.Containers[0].SecurityContext = new V1SecurityContext
        {
            AllowPrivilegeEscalation = false,
            Capabilities = new V1Capabilities { Drop = ["ALL"] },
        };
    }

    private static string Message(HttpOperationException e) => (string?)JsonNode.Parse(e.Response.Content)?["message"] ?? e.Response.Content;

    private async Task<HttpOperationException> RefusedAsync(V1Pod pod)
    {
        var e = await Assert.ThrowsAsync<HttpOperationException>(() => fx.Client.CoreV1.CreateNamespacedPodAsync(pod, pod.Metadata.NamespaceProperty));
        Assert.Equal(HttpStatusCode.Forbidden, e.Response.StatusCode);
        return e;
    }

    private async Task<string> NamespaceAsync(string? enforce = null)
    {
        var ns = await fx.NewNamespaceAsync();
        if (enforce is not null)
        {
            (await fx.KubectlAsync("label", "namespace", ns, $"pod-security.kubernetes.io/enforce={enforce}")).Succeeded();
        }

        return ns;
    }

    [Fact]
    public async Task CreatePod_Should_BeForbidden_When_TheServiceAccountDoesNotExist()
    {
        var ns = await NamespaceAsync();

        var e = await RefusedAsync(Pod(ns, configure: s => s.ServiceAccountName = "trainer"));
        (await fx.KubectlAsync("create", "serviceaccount", "trainer", "-n", ns)).Succeeded();
        var created = await fx.Client.CoreV1.CreateNamespacedPodAsync(Pod(ns, "y", s => s.ServiceAccountName = "trainer"), ns);

        Assert.Contains($"pods \"x\" is forbidden: error looking up service account {ns}/trainer: serviceaccount \"trainer\" not found", Message(e), StringComparison.Ordinal);
        Assert.Equal("trainer", created.Spec.ServiceAccountName);
    }

    [Fact]
    public async Task CreateNamespace_Should_GiveItADefaultServiceAccount_When_CreatedLikeTheRealController()
    {
        var ns = await NamespaceAsync();

        var sa = await fx.Client.CoreV1.ReadNamespacedServiceAccountAsync("default", ns);
        var inDefault = await fx.Client.CoreV1.ReadNamespacedServiceAccountAsync("default", "default");
        var run = await fx.KubectlAsync("run", "plain", "-n", ns, "--image=busybox", "--restart=Never", "--", "true");

        Assert.Equal("default", sa.Metadata.Name);
        Assert.Equal("default", inDefault.Metadata.Name);
        run.Succeeded();
    }

    [Fact]
    public async Task CreatePod_Should_BeForbidden_When_ThePriorityClassDoesNotExist()
    {
        var ns = await NamespaceAsync();

        var e = await RefusedAsync(Pod(ns, configure: s => s.PriorityClassName = "foo"));
        var system = await fx.Client.CoreV1.CreateNamespacedPodAsync(Pod(ns, "sys", s => s.PriorityClassName = "system-cluster-critical"), ns);
        (await fx.KubectlWithInputAsync("""
            apiVersion: scheduling.k8s.io/v1
            kind: PriorityClass
            metadata: {name: training}
            value: 1000
            """, "apply", "-f", "-")).Succeeded();
        var custom = await fx.Client.CoreV1.CreateNamespacedPodAsync(Pod(ns, "custom", s => s.PriorityClassName = "training"), ns);
        var classes = (await fx.KubectlAsync("get", "priorityclasses", "-o", "name")).Succeeded().Stdout;

        Assert.Contains("pods \"x\" is forbidden: no PriorityClass with name foo was found", Message(e), StringComparison.Ordinal);
        Assert.Equal(2000000000, system.Spec.Priority);
        Assert.Equal(1000, custom.Spec.Priority);
        Assert.Contains("priorityclass.scheduling.k8s.io/system-node-critical", classes, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreatePod_Should_BeForbiddenWithTheRealMessage_When_ARestrictedNamespaceGetsAPlainPod()
    {
        var ns = await NamespaceAsync("restricted");

        var result = await fx.KubectlWithInputAsync($$"""
            apiVersion: v1
            kind: Pod
            metadata: {name: x, namespace: {{ns}}}
            spec:
              containers: [{name: trainer, image: busybox}]
            """, "create", "-f", "-");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(
            "pods \"x\" is forbidden: violates PodSecurity \"restricted:latest\": allowPrivilegeEscalation != false (container \"trainer\" must set securityContext.allowPrivilegeEscalation=false), "
            + "unrestricted capabilities (container \"trainer\" must set securityContext.capabilities.drop=[\"ALL\"]), "
            + "runAsNonRoot != true (pod or container \"trainer\" must set securityContext.runAsNonRoot=true), "
            + "seccompProfile (pod or container \"trainer\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")",
            result.Stderr,
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreatePod_Should_BeAdmitted_When_ItPassesTheRestrictedProfile()
    {
        var ns = await NamespaceAsync("restricted");

        var created = await fx.Client.CoreV1.CreateNamespacedPodAsync(Pod(ns, configure: Restricted), ns);

        Assert.Equal("x", created.Metadata.Name);
    }

    [Fact]
    public async Task CreatePod_Should_BeForbidden_When_ABaselineNamespaceGetsAPrivilegedHostPod()
    {
        var ns = await NamespaceAsync("baseline");

        var e = await RefusedAsync(Pod(ns, configure: s =>
        {
            s.HostNetwork = true;
            s.Containers[0].SecurityContext = new V1SecurityContext { Privileged = true };
            s.Containers[0].Ports = [new V1ContainerPort { ContainerPort = 80, HostPort = 8080 }];
            s.Volumes = [new V1Volume { Name = "root", HostPath = new V1HostPathVolumeSource { Path = "/" } }];
        }));
        var plain = await fx.Client.CoreV1.CreateNamespacedPodAsync(Pod(ns, "plain"), ns);

        Assert.Contains(
            "violates PodSecurity \"baseline:latest\": host namespaces (hostNetwork=true), hostPath volumes (volume \"root\"), hostPort (container \"trainer\" uses hostPort 8080), privileged (container \"trainer\" must not set securityContext.privileged=true)",
            Message(e),
            StringComparison.Ordinal);
        Assert.Equal("plain", plain.Metadata.Name);
    }
}
