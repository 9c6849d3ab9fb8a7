using K8sTraining.Deploy.Tests.Support;

namespace K8sTraining.Deploy.Tests.Chart;

[Trait("Category", "Integration")]
public sealed class ChartSchemaTests
{
    public static TheoryData<string, string, string> BadValues => new()
    {
        { "zero replicas", "operator: {replicas: 0}", "at '/operator/replicas': minimum: got 0, want 1" },
        { "replicas as a string", "operator: {replicas: \"two\"}", "at '/operator/replicas'" },
        { "namespace not a DNS label", "watchNamespaces: [Team_A]", "at '/watchNamespaces/0': 'Team_A' does not match pattern" },
        { "namespace listed twice", "watchNamespaces: [a, a]", "at '/watchNamespaces'" },
        { "watchNamespaces as a string", "watchNamespaces: team-a", "at '/watchNamespaces': got string, want array" },
        { "misspelt top-level key", "operater: {replicas: 2}", "additional properties 'operater' not allowed" },
        { "misspelt operator key", "operator: {replica: 2}", "additional properties 'replica' not allowed" },
        { "two replicas without leader election", "operator: {replicas: 2, leaderElection: {enabled: false}}", "at '/operator/leaderElection/enabled': value must be true" },
        { "privilege escalation", "operator: {securityContext: {allowPrivilegeEscalation: true}}", "at '/operator/securityContext/allowPrivilegeEscalation': value must be false" },
        { "running as root", "operator: {podSecurityContext: {runAsUser: 0}}", "at '/operator/podSecurityContext/runAsUser': minimum: got 0, want 1" },
        { "runAsNonRoot off", "operator: {podSecurityContext: {runAsNonRoot: false}}", "at '/operator/podSecurityContext/runAsNonRoot': value must be true" },
        { "capabilities not dropped", "operator: {securityContext: {capabilities: {drop: [NET_RAW]}}}", "at '/operator/securityContext/capabilities/drop'" },
        { "capability added", "operator: {securityContext: {capabilities: {drop: [ALL], add: [SYS_ADMIN]}}}", "at '/operator/securityContext/capabilities/add/0'" },
        { "seccomp unconfined", "operator: {podSecurityContext: {seccompProfile: {type: Unconfined}}}", "at '/operator/podSecurityContext/seccompProfile/type': value must be one of 'RuntimeDefault', 'Localhost'" },
        { "unknown pull policy", "operator: {image: {pullPolicy: Sometimes}}", "value must be one of 'Always', 'IfNotPresent', 'Never'" },
        { "tag inside the repository", "operator: {image: {repository: \"ghcr.io/k8straining/operator:1.0\"}}", "at '/operator/image/repository'" },
        { "malformed digest", "operator: {image: {digest: \"sha256:abc\"}}", "at '/operator/image/digest'" },
        { "privileged http port", "operator: {httpPort: 80}", "at '/operator/httpPort': minimum: got 80" },
        { "bad scrape interval", "metrics: {serviceMonitor: {enabled: true, interval: often}}", "at '/metrics/serviceMonitor/interval'" },
        { "negative progress interval", "operator: {progressIntervalSeconds: -5}", "at '/operator/progressIntervalSeconds'" },
        { "checkpoint-sync image with a space", "checkpointSync: {image: 'ghcr.io/x/y: 1'}", "at '/checkpointSync/image'" },
        { "pod monitor with an unknown field", "metrics: {podMonitor: {enabled: true, port: 9464}}", "additional properties 'port' not allowed" },
        { "bad memory quantity", "operator: {resources: {limits: {memory: lots}}}", "at '/operator/resources/limits/memory'" },
        { "dashboard label not a string", "dashboards: {labels: {grafana_dashboard: 1}}", "at '/dashboards/labels/grafana_dashboard': got number, want string" },
    };

    [Theory]
    [MemberData(nameof(BadValues))]
    public async Task Template_Should_RejectWithMessageNamingTheField_When_ValuesAreInvalid(string because, string valuesYaml, string expectedMessage)
    {
        var result = await Helm.TemplateRawAsync(valuesYaml);

        Assert.True(result.ExitCode != 0, $"{because}: expected helm to refuse {valuesYaml}; {result.Describe()}");
        Assert.Contains("values don't meet the specifications of the schema", result.StandardError);
        Assert.Contains(expectedMessage, result.StandardError);
    }

    [Fact]
    public async Task Template_Should_FailWithReason_When_ServiceMonitorWithoutService()
    {
        var result = await Helm.TemplateRawAsync("metrics: {service: {enabled: false}, serviceMonitor: {enabled: true}}");

        Assert.True(result.ExitCode != 0, result.Describe());
        Assert.Contains("metrics.serviceMonitor.enabled needs metrics.service.enabled", result.StandardError);
    }

    [Fact]
    public async Task Template_Should_RequireName_When_ServiceAccountNotCreated()
    {
        var result = await Helm.TemplateRawAsync("serviceAccount: {create: false}");

        Assert.True(result.ExitCode != 0, result.Describe());
        Assert.Contains("serviceAccount.name is required when serviceAccount.create is false", result.StandardError);
    }
}
