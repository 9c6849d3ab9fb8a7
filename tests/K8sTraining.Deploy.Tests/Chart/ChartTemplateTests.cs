using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Pods;
using K8sTraining.Deploy.Tests.Support;

namespace K8sTraining.Deploy.Tests.Chart;

[Trait("Category", "Integration")]
public sealed partial class ChartTemplateTests
{
    [Theory]
    [MemberData(nameof(ValueSets.Names), MemberType = typeof(ValueSets))]
    public async Task Template_Should_RenderStrictlyParseableKubernetesObjects_When_ValuesAre(string valueSet)
    {
        var chart = await Renders.OfAsync(valueSet);

        Assert.NotEmpty(chart.Objects);
        foreach (var rendered in chart.Objects)
        {
            var key = $"{rendered.ApiVersion}/{rendered.Kind}";
            if (KubernetesTypes.BuiltIn.TryGetValue(key, out var type))
            {
                // strict: a field the Kubernetes type does not have (a typo, a wrong indent) fails the parse.
                var typeMap = new Dictionary<string, Type> { [key] = type };
                var parsed = Assert.Single(KubernetesYaml.LoadAllFromString(rendered.Yaml, typeMap, strict: true));
                Assert.IsType(type, parsed);
            }
            else
            {
                Assert.Contains(key, new[] { "monitoring.coreos.com/v1/ServiceMonitor", "monitoring.coreos.com/v1/PodMonitor" });
            }

            Assert.Matches(Dns1123Subdomain(), rendered.Name);
            if (KubernetesTypes.ClusterScoped.Contains(rendered.Kind))
            {
                Assert.Null(rendered.Namespace);
            }
            else
            {
                Assert.False(string.IsNullOrEmpty(rendered.Namespace), $"{rendered} has no namespace");
            }

            if (rendered.Kind != "CustomResourceDefinition")
            {
                var labels = rendered.Json["metadata"]!["labels"]!.AsObject();
                Assert.Equal("Helm", (string?)labels["app.kubernetes.io/managed-by"]);
                Assert.Equal(Helm.ReleaseName, (string?)labels["app.kubernetes.io/instance"]);
                Assert.All(labels, l => Assert.True(l.Value is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.String, $"{rendered}: label {l.Key} is not a string"));
            }
        }

        Assert.Equal(chart.Objects.Count, chart.Objects.Select(o => (o.Kind, o.Namespace, o.Name)).Distinct().Count());
    }

    [Fact]
    public async Task Deployment_Should_RunTwoReplicasWithLeaderElectionInReleaseNamespace_When_DefaultValues()
    {
        var deployment = await DeploymentOfAsync(ValueSets.Default);
        var args = deployment.Spec.Template.Spec.Containers.Single().Args;

        Assert.Equal(2, deployment.Spec.Replicas);
        Assert.Equal("true", ValueAfter(args, "--leader-elect"));
        Assert.Equal(Helm.ReleaseNamespace, ValueAfter(args, "--leader-election-namespace"));
        Assert.Equal("8080", ValueAfter(args, "--http-port"));
        Assert.Equal("30", ValueAfter(args, "--progress-interval-seconds"));
        Assert.Equal("ghcr.io/k8straining/checkpoint-sync:0.1.0", ValueAfter(args, "--checkpoint-sync-image"));
        Assert.Equal("$(POD_NAME)", ValueAfter(args, "--identity"));
        Assert.DoesNotContain("--namespaces", args);
        Assert.DoesNotContain(args, a => a.StartsWith("--kubeconfig", StringComparison.Ordinal)); // in-cluster config
    }

    [Fact]
    public async Task Deployment_Should_TurnLeaderElectionOff_When_SingleReplicaWithoutLeaderElection()
    {
        var deployment = await DeploymentOfAsync(ValueSets.SingleReplicaNoLeaderElection);
        var args = deployment.Spec.Template.Spec.Containers.Single().Args;

        Assert.Equal(1, deployment.Spec.Replicas);
        Assert.Equal("false", ValueAfter(args, "--leader-elect"));
        Assert.DoesNotContain("--leader-election-namespace", args);
        Assert.Empty((await Renders.OfAsync(ValueSets.SingleReplicaNoLeaderElection)).OfKind("PodDisruptionBudget"));
    }

    [Fact]
    public async Task Deployment_Should_TurnTheProgressProbeOff_When_TheIntervalIsZero()
    {
        var deployment = await DeploymentOfAsync(ValueSets.CustomImages);

        Assert.Equal("0", ValueAfter(deployment.Spec.Template.Spec.Containers.Single().Args, "--progress-interval-seconds"));
    }

    [Fact]
    public async Task Deployment_Should_PassTheCheckpointSyncImage_When_TheValueIsSet()
    {
        var deployment = await DeploymentOfAsync(ValueSets.CustomImages);

        Assert.Equal(
            "registry.example.com:5000/ml/checkpoint-sync@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            ValueAfter(deployment.Spec.Template.Spec.Containers.Single().Args, "--checkpoint-sync-image"));
    }

    [Fact]
    public async Task Deployment_Should_PassWatchedNamespaces_When_NamespacesListed()
    {
        var deployment = await DeploymentOfAsync(ValueSets.Namespaced);

        Assert.Equal("team-a,team-b", ValueAfter(deployment.Spec.Template.Spec.Containers.Single().Args, "--namespaces"));
    }

    [Fact]
    public async Task Deployment_Should_ProbeHealthAndReadinessOnTheHttpPort_When_DefaultValues()
    {
        var container = (await DeploymentOfAsync(ValueSets.Default)).Spec.Template.Spec.Containers.Single();

        var port = Assert.Single(container.Ports);
        Assert.Equal(("http", 8080), (port.Name, port.ContainerPort));
        Assert.Equal(("/healthz", "http"), (container.LivenessProbe.HttpGet.Path, container.LivenessProbe.HttpGet.Port.Value));
        Assert.Equal(("/readyz", "http"), (container.ReadinessProbe.HttpGet.Path, container.ReadinessProbe.HttpGet.Port.Value));
        Assert.NotNull(container.Resources.Requests["cpu"]);
        Assert.NotNull(container.Resources.Requests["memory"]);
        Assert.NotNull(container.Resources.Limits["memory"]);
    }

    [Theory]
    [MemberData(nameof(ValueSets.Names), MemberType = typeof(ValueSets))]
    public async Task Deployment_Should_MeetTheRestrictedPodSecurityProfile_When_ValuesAre(string valueSet)
    {
        var pod = (await DeploymentOfAsync(valueSet)).Spec.Template.Spec;

        Assert.Empty(RestrictedProfile.Violations(pod));
        var container = pod.Containers.Single();
        Assert.True(container.SecurityContext.ReadOnlyRootFilesystem);
        Assert.True(pod.SecurityContext.RunAsNonRoot);
        Assert.Equal(1654, pod.SecurityContext.RunAsUser);
        Assert.Equal("RuntimeDefault", pod.SecurityContext.SeccompProfile.Type);
        Assert.Equal(["ALL"], container.SecurityContext.Capabilities.Drop);
        Assert.False(container.SecurityContext.AllowPrivilegeEscalation);
        // a read-only root needs a writable /tmp for .NET's scratch files
        var tmp = Assert.Single(container.VolumeMounts, m => m.MountPath == "/tmp");
        Assert.NotNull(Assert.Single(pod.Volumes, v => v.Name == tmp.Name).EmptyDir);
    }

    [Theory]
    [InlineData(ValueSets.Default, "ghcr.io/k8straining/operator:0.1.0", "IfNotPresent")]
    [InlineData(ValueSets.CustomImages, "registry.example.com:5000/ml/k8straining-operator:1.2.3-rc.1", "Always")]
    public async Task Deployment_Should_UseTheConfiguredImage_When_ValuesAre(string valueSet, string image, string pullPolicy)
    {
        var pod = (await DeploymentOfAsync(valueSet)).Spec.Template.Spec;

        Assert.Equal(image, pod.Containers.Single().Image);
        Assert.Equal(pullPolicy, pod.Containers.Single().ImagePullPolicy);
        if (valueSet == ValueSets.CustomImages)
        {
            Assert.Equal("registry-credentials", Assert.Single(pod.ImagePullSecrets).Name);
        }
    }

    [Fact]
    public async Task Deployment_Should_PinTheImageByDigest_When_DigestGiven()
    {
        var digest = "sha256:" + new string('a', 64);
        var chart = await Helm.TemplateAsync($"operator: {{image: {{tag: '9.9.9', digest: '{digest}'}}}}");
        var deployment = KubernetesYaml.Deserialize<V1Deployment>(chart.Single("Deployment").Yaml);

        Assert.Equal($"ghcr.io/k8straining/operator@{digest}", deployment.Spec.Template.Spec.Containers.Single().Image);
    }

    [Fact]
    public async Task Deployment_Should_UseTheChartServiceAccount_When_DefaultValues()
    {
        var chart = await Renders.OfAsync(ValueSets.Default);
        var deployment = KubernetesYaml.Deserialize<V1Deployment>(chart.Single("Deployment").Yaml);

        Assert.Equal(chart.Single("ServiceAccount").Name, deployment.Spec.Template.Spec.ServiceAccountName);
        Assert.Equal(Helm.ReleaseNamespace, chart.Single("ServiceAccount").Namespace);
    }

    [Fact]
    public async Task Deployment_Should_UseTheExistingServiceAccount_When_NotCreated()
    {
        var chart = await Renders.OfAsync(ValueSets.ExistingServiceAccount);
        var deployment = KubernetesYaml.Deserialize<V1Deployment>(chart.Single("Deployment").Yaml);

        Assert.Empty(chart.OfKind("ServiceAccount"));
        Assert.Equal("platform-operator", deployment.Spec.Template.Spec.ServiceAccountName);
        Assert.All(
            chart.OfKind("ClusterRoleBinding").Concat(chart.OfKind("RoleBinding")),
            b => Assert.Equal("platform-operator", (string?)b.Json["subjects"]![0]!["name"]));
    }

    [Fact]
    public async Task PodDisruptionBudget_Should_KeepOneOperatorUp_When_DefaultValues()
    {
        var chart = await Renders.OfAsync(ValueSets.Default);
        var budget = KubernetesYaml.Deserialize<V1PodDisruptionBudget>(chart.Single("PodDisruptionBudget").Yaml);
        var deployment = KubernetesYaml.Deserialize<V1Deployment>(chart.Single("Deployment").Yaml);

        Assert.Equal("1", budget.Spec.MinAvailable.Value);
        Assert.Equal("AlwaysAllow", budget.Spec.UnhealthyPodEvictionPolicy);
        Assert.Equal(deployment.Spec.Selector.MatchLabels, budget.Spec.Selector.MatchLabels);
    }

    [Fact]
    public async Task MetricsService_Should_SelectTheOperatorPodsOnTheHttpPort_When_DefaultValues()
    {
        var chart = await Renders.OfAsync(ValueSets.Default);
        var service = KubernetesYaml.Deserialize<V1Service>(chart.Single("Service").Yaml);
        var deployment = KubernetesYaml.Deserialize<V1Deployment>(chart.Single("Deployment").Yaml);

        var port = Assert.Single(service.Spec.Ports);
        Assert.Equal(("http-metrics", "http"), (port.Name, port.TargetPort.Value));
        Assert.All(service.Spec.Selector, s => Assert.Equal(s.Value, deployment.Spec.Template.Metadata.Labels[s.Key]));
        Assert.Empty(chart.OfKind("ServiceMonitor"));
    }

    [Fact]
    public async Task ServiceMonitor_Should_ScrapeTheMetricsService_When_Enabled()
    {
        var chart = await Renders.OfAsync(ValueSets.ServiceMonitorOn);
        var monitor = chart.Single("ServiceMonitor").Json;
        var service = chart.Single("Service").Json;

        var endpoint = Assert.Single(monitor["spec"]!["endpoints"]!.AsArray())!;
        Assert.Equal("http-metrics", (string?)endpoint["port"]);
        Assert.Equal("/metrics", (string?)endpoint["path"]);
        Assert.Equal("15s", (string?)endpoint["interval"]);
        Assert.Equal("kube-prometheus-stack", (string?)monitor["metadata"]!["labels"]!["release"]);
        Assert.Equal(Helm.ReleaseNamespace, (string?)monitor["spec"]!["namespaceSelector"]!["matchNames"]![0]);
        foreach (var (key, value) in monitor["spec"]!["selector"]!["matchLabels"]!.AsObject())
        {
            Assert.Equal((string?)value, (string?)service["metadata"]!["labels"]![key]);
        }
    }

    [Theory]
    [InlineData(ValueSets.PodMonitorOn)]
    [InlineData(ValueSets.PodMonitorNamespaced)]
    public async Task PodMonitor_Should_SelectTheTrainerPodsTheOperatorBuilds_When_Enabled(string valueSet)
    {
        var chart = await Renders.OfAsync(valueSet);
        var monitor = chart.Single("PodMonitor").Json;
        var job = new TrainingJob
        {
            Metadata = new V1ObjectMeta { Name = "mnist", NamespaceProperty = "team-a", Uid = "uid-mnist" },
            Spec = new TrainingJobSpec { Training = new TrainingSpec { Model = "cnn", Dataset = "synthetic" } },
        };
        var pod = TrainerPodBuilder.Build(job, 1);

        var endpoint = Assert.Single(monitor["spec"]!["podMetricsEndpoints"]!.AsArray())!;
        var port = Assert.Single(pod.Spec.Containers.Single().Ports);
        Assert.Equal(port.Name, (string?)endpoint["port"]);
        Assert.Equal("/metrics", (string?)endpoint["path"]);
        var selector = monitor["spec"]!["selector"]!["matchLabels"]!.AsObject();
        Assert.NotEmpty(selector);
        foreach (var (key, value) in selector)
        {
            Assert.Equal((string?)value, pod.Metadata.Labels[key]);
        }

        // Only trainers: the operator's own pods (scraped through the ServiceMonitor) are not selected.
        var deployment = KubernetesYaml.Deserialize<V1Deployment>(chart.Single("Deployment").Yaml);
        var operatorLabels = deployment.Spec.Template.Metadata.Labels;
        Assert.Contains(selector, s => !operatorLabels.TryGetValue(s.Key, out var v) || v != (string?)s.Value);
        var namespaces = monitor["spec"]!["namespaceSelector"]!;
        if (valueSet == ValueSets.PodMonitorNamespaced)
        {
            Assert.Equal(["team-a", "team-b"], namespaces["matchNames"]!.AsArray().Select(n => (string?)n));
            Assert.Equal("monitoring", chart.Single("PodMonitor").Namespace);
        }
        else
        {
            Assert.True((bool?)namespaces["any"]);
            Assert.Equal("kube-prometheus-stack", (string?)monitor["metadata"]!["labels"]!["release"]);
        }
    }

    internal static async Task<V1Deployment> DeploymentOfAsync(string valueSet) =>
        KubernetesYaml.Deserialize<V1Deployment>((await Renders.OfAsync(valueSet)).Single("Deployment").Yaml);

    private static string ValueAfter(IList<string> args, string flag)
    {
        var index = args.IndexOf(flag);
        Assert.True(index >= 0 && index + 1 < args.Count, $"{flag} missing from args: {string.Join(' ', args)}");
        return args[index + 1];
    }

    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")]
    private static partial Regex Dns1123Subdomain();
}
