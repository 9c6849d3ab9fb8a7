using System.Text.Json.Nodes;
using K8sTraining.LocalCluster.Admission;

namespace K8sTraining.LocalCluster.Tests.ApiServer;

/// <summary>Pod Security admission's verdicts on pod specs, one named case per check, with the real details.</summary>
[Trait("Category", "Unit")]
public sealed class PodSecurityTests
{
    private const string RestrictedContainer =
        """{"name":"trainer","image":"i","securityContext":{"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]}}}""";

    private const string RestrictedPod = """{"securityContext":{"runAsNonRoot":true,"seccompProfile":{"type":"RuntimeDefault"}}""";

    public static TheoryData<string, string, string, string?> Cases() => new()
    {
        { "restricted pod passes restricted", "restricted", RestrictedPod + ",\"containers\":[" + RestrictedContainer + "]}", null },
        { "NET_BIND_SERVICE may be added", "restricted", RestrictedPod + ""","containers":[{"name":"web","securityContext":{"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"],"add":["NET_BIND_SERVICE"]}}}]}""", null },
        { "other capabilities may not", "restricted", RestrictedPod + ""","containers":[{"name":"web","securityContext":{"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"],"add":["SYS_ADMIN"]}}}]}""",
            "violates PodSecurity \"restricted:latest\": unrestricted capabilities (container \"web\" must not include \"SYS_ADMIN\" in securityContext.capabilities.add)" },
        { "runAsNonRoot false on the pod", "restricted", """{"securityContext":{"runAsNonRoot":false,"seccompProfile":{"type":"RuntimeDefault"}},"containers":[""" + RestrictedContainer + "]}",
            "violates PodSecurity \"restricted:latest\": runAsNonRoot != true (pod must not set securityContext.runAsNonRoot=false; pod or container \"trainer\" must set securityContext.runAsNonRoot=true)" },
        { "Unconfined seccomp on a container", "restricted", RestrictedPod + ""","containers":[{"name":"a","securityContext":{"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]},"seccompProfile":{"type":"Unconfined"}}}]}""",
            "violates PodSecurity \"restricted:latest\": seccompProfile (container \"a\" must not set securityContext.seccompProfile.type to \"Unconfined\")" },
        { "two containers are listed together", "restricted", """{"containers":[{"name":"a"},{"name":"b"}]}""",
            "violates PodSecurity \"restricted:latest\": allowPrivilegeEscalation != false (containers \"a\", \"b\" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (containers \"a\", \"b\" must set securityContext.capabilities.drop=[\"ALL\"]), runAsNonRoot != true (pod or containers \"a\", \"b\" must set securityContext.runAsNonRoot=true), seccompProfile (pod or containers \"a\", \"b\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")" },
        { "plain pod passes baseline", "baseline", """{"containers":[{"name":"a"}]}""", null },
        { "hostPID and hostIPC break baseline", "baseline", """{"hostPID":true,"hostIPC":true,"containers":[{"name":"a"}]}""",
            "violates PodSecurity \"baseline:latest\": host namespaces (hostPID=true, hostIPC=true)" },
        { "SYS_ADMIN breaks baseline", "baseline", """{"containers":[{"name":"a","securityContext":{"capabilities":{"add":["SYS_ADMIN"]}}}]}""",
            "violates PodSecurity \"baseline:latest\": non-default capabilities (container \"a\" must not include \"SYS_ADMIN\" in securityContext.capabilities.add)" },
        { "privileged allows anything", "privileged", """{"hostNetwork":true,"containers":[{"name":"a","securityContext":{"privileged":true}}]}""", null },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Violations_Should_MatchTheRealAdmission_When_TheNamespaceEnforcesALevel(string name, string level, string spec, string? expected)
    {
        var labels = new JsonObject { [PodSecurity.EnforceLabel] = level };
        var pod = new JsonObject { ["spec"] = JsonNode.Parse(spec) };

        var violations = PodSecurity.Violations(labels, pod);

        Assert.True(expected == violations, $"{name}: expected {expected ?? "none"}, got {violations ?? "none"}");
    }
}
