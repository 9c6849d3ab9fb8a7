using System.Text.Json.Nodes;

namespace K8sTraining.LocalCluster.Admission;

/// <summary>
/// Pod Security admission's checks for the <c>baseline</c> and <c>restricted</c> levels (k8s.io/pod-security-admission),
/// with the real reasons and details, in the order of their check IDs as the real evaluator reports them.
/// </summary>
public static class PodSecurity
{
    public const string EnforceLabel = "pod-security.kubernetes.io/enforce";

    public const string EnforceVersionLabel = "pod-security.kubernetes.io/enforce-version";

    private static readonly HashSet<string> BaselineCapabilities = new(StringComparer.Ordinal)
    {
        "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP",
        "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
    };

    private static readonly HashSet<string> RestrictedVolumeTypes = new(StringComparer.Ordinal)
    {
        "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret",
    };

    private sealed record Container(string Name, JsonObject Spec)
    {
        public JsonNode? Security(string field) => Spec["securityContext"]?[field];
    }

    private sealed record Check(string Id, bool Restricted, Func<JsonObject, IReadOnlyList<Container>, string?> Run, string Reason);

    /// <summary>Check IDs sorted as the real registry sorts them; restricted's capabilities and seccomp checks replace baseline's.</summary>
    private static readonly Check[] Checks =
    [
        new("allowPrivilegeEscalation", true, AllowPrivilegeEscalation, "allowPrivilegeEscalation != false"),
        new("capabilities_baseline", false, CapabilitiesBaseline, "non-default capabilities"),
        new("capabilities_restricted", true, CapabilitiesRestricted, "unrestricted capabilities"),
        new("hostNamespaces", false, HostNamespaces, "host namespaces"),
        new("hostPathVolumes", false, HostPathVolumes, "hostPath volumes"),
        new("hostPorts", false, HostPorts, "hostPort"),
        new("privileged", false, Privileged, "privileged"),
        new("restrictedVolumes", true, RestrictedVolumes, "restricted volume types"),
        new("runAsNonRoot", true, RunAsNonRoot, "runAsNonRoot != true"),
        new("runAsUser", true, RunAsUser, "runAsUser=0"),
        new("seccompProfile_baseline", false, SeccompBaseline, "seccompProfile"),
        new("seccompProfile_restricted", true, SeccompRestricted, "seccompProfile"),
    ];

    /// <summary>
    /// The violations of the namespace's enforced level, as "violates PodSecurity "restricted:latest": ..." or null
    /// when the pod passes (or the namespace enforces nothing, or "privileged").
    /// </summary>
    public static string? Violations(JsonObject? namespaceLabels, JsonObject pod)
    {
        var level = (string?)namespaceLabels?[EnforceLabel];
        if (level is not ("baseline" or "restricted"))
        {
            return null;
        }

        var version = (string?)namespaceLabels?[EnforceVersionLabel] is { Length: > 0 } v ? v : "latest";
        var spec = pod["spec"] as JsonObject ?? new JsonObject();
        var containers = new[] { "initContainers", "containers", "ephemeralContainers" }
            .SelectMany(list => (spec[list] as JsonArray)?.OfType<JsonObject>() ?? [])
            .Select(c => new Container((string?)c["name"] ?? "", c))
            .ToList();
        var restricted = level == "restricted";
        var found = new List<string>();
        foreach (var check in Checks)
        {
            if (check.Restricted && !restricted)
            {
                continue;
            }

            if (restricted && check.Id is "capabilities_baseline" or "seccompProfile_baseline")
            {
                continue; // overridden by the restricted variants
            }

            if (check.Run(spec, containers) is { } detail)
            {
                found.Add($"{check.Reason} ({detail})");
            }
        }

        return found.Count == 0 ? null : $"violates PodSecurity \"{level}:{version}\": {string.Join(", ", found)}";
    }

    private static string Pluralize(string one, string many, int n) => n == 1 ? one : many;

    private static string JoinQuote(IEnumerable<string> items) => string.Join(", ", items.Select(i => $"\"{i}\""));

    private static string? Containers(List<string> bad, string verbPhrase) =>
        bad.Count == 0 ? null : $"{Pluralize("container", "containers", bad.Count)} {JoinQuote(bad)} {verbPhrase}";

    private static bool IsTrue(JsonNode? n) => n is JsonValue v && v.TryGetValue<bool>(out var b) && b;

    private static bool IsFalse(JsonNode? n) => n is JsonValue v && v.TryGetValue<bool>(out var b) && !b;

    private static string? AllowPrivilegeEscalation(JsonObject spec, IReadOnlyList<Container> containers) =>
        Containers(containers.Where(c => !IsFalse(c.Security("allowPrivilegeEscalation"))).Select(c => c.Name).ToList(),
            "must set securityContext.allowPrivilegeEscalation=false");

    private static IEnumerable<string> Added(Container c) =>
        (c.Security("capabilities")?["add"] as JsonArray)?.Select(n => (string?)n ?? "") ?? [];

    private static string? CapabilitiesBaseline(JsonObject spec, IReadOnlyList<Container> containers)
    {
        var bad = containers.Where(c => Added(c).Any(a => !BaselineCapabilities.Contains(a))).Select(c => c.Name).ToList();
        var forbidden = containers.SelectMany(Added).Where(a => !BaselineCapabilities.Contains(a)).Distinct().Order(StringComparer.Ordinal);
        return Containers(bad, $"must not include {JoinQuote(forbidden)} in securityContext.capabilities.add");
    }

    private static string? CapabilitiesRestricted(JsonObject spec, IReadOnlyList<Container> containers)
    {
        var missingDropAll = containers
            .Where(c => (c.Security("capabilities")?["drop"] as JsonArray)?.Any(d => (string?)d == "ALL") != true)
            .Select(c => c.Name).ToList();
        var adding = containers.Where(c => Added(c).Any(a => a != "NET_BIND_SERVICE")).Select(c => c.Name).ToList();
        var forbidden = containers.SelectMany(Added).Where(a => a != "NET_BIND_SERVICE").Distinct().Order(StringComparer.Ordinal);
        var details = new[]
        {
            Containers(missingDropAll, "must set securityContext.capabilities.drop=[\"ALL\"]"),
            Containers(adding, $"must not include {JoinQuote(forbidden)} in securityContext.capabilities.add"),
        }.OfType<string>().ToList();
        return details.Count == 0 ? null : string.Join("; ", details);
    }

    private static string? HostNamespaces(JsonObject spec, IReadOnlyList<Container> containers)
    {
        var set = new[] { "hostNetwork", "hostPID", "hostIPC" }.Where(f => IsTrue(spec[f])).Select(f => $"{f}=true").ToList();
        return set.Count == 0 ? null : string.Join(", ", set);
    }

    private static string? HostPathVolumes(JsonObject spec, IReadOnlyList<Container> containers)
    {
        var bad = (spec["volumes"] as JsonArray)?.OfType<JsonObject>().Where(v => v["hostPath"] is not null)
            .Select(v => (string?)v["name"] ?? "").ToList() ?? [];
        return bad.Count == 0 ? null : $"{Pluralize("volume", "volumes", bad.Count)} {JoinQuote(bad)}";
    }

    private static string? HostPorts(JsonObject spec, IReadOnlyList<Container> containers)
    {
        var bad = new List<string>();
        var ports = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var c in containers)
        {
            var used = (c.Spec["ports"] as JsonArray)?.OfType<JsonObject>()
                .Select(p => p["hostPort"]?.ToJsonString() ?? "0").Where(p => p != "0").ToList() ?? [];
            if (used.Count > 0)
            {
                bad.Add(c.Name);
                ports.UnionWith(used);
            }
        }

        return bad.Count == 0 ? null
            : $"{Pluralize("container", "containers", bad.Count)} {JoinQuote(bad)} {Pluralize("uses", "use", bad.Count)} {Pluralize("hostPort", "hostPorts", ports.Count)} {string.Join(", ", ports)}";
    }

    private static string? Privileged(JsonObject spec, IReadOnlyList<Container> containers) =>
        Containers(containers.Where(c => IsTrue(c.Security("privileged"))).Select(c => c.Name).ToList(),
            "must not set securityContext.privileged=true");

    private static string? RestrictedVolumes(JsonObject spec, IReadOnlyList<Container> containers)
    {
        var bad = new List<(string Name, string Type)>();
        foreach (var v in (spec["volumes"] as JsonArray)?.OfType<JsonObject>() ?? [])
        {
            var type = v.Select(p => p.Key).FirstOrDefault(k => k != "name");
            if (type is not null && !RestrictedVolumeTypes.Contains(type))
            {
                bad.Add(((string?)v["name"] ?? "", type));
            }
        }

        if (bad.Count == 0)
        {
            return null;
        }

        var types = bad.Select(b => b.Type).Distinct().Order(StringComparer.Ordinal).ToList();
        return $"{Pluralize("volume", "volumes", bad.Count)} {JoinQuote(bad.Select(b => b.Name))} {Pluralize("uses", "use", bad.Count)} {Pluralize("restricted volume type", "restricted volume types", types.Count)} {JoinQuote(types)}";
    }

    private static string? RunAsNonRoot(JsonObject spec, IReadOnlyList<Container> containers)
    {
        var podValue = spec["securityContext"]?["runAsNonRoot"];
        var details = new List<string>();
        if (IsFalse(podValue))
        {
            details.Add("pod must not set securityContext.runAsNonRoot=false");
        }

        var explicitFalse = containers.Where(c => IsFalse(c.Security("runAsNonRoot"))).Select(c => c.Name).ToList();
        if (explicitFalse.Count > 0)
        {
            details.Add(Containers(explicitFalse, "must not set securityContext.runAsNonRoot=false")!);
        }

        if (!IsTrue(podValue))
        {
            var unset = containers.Where(c => c.Security("runAsNonRoot") is null).Select(c => c.Name).ToList();
            if (unset.Count > 0)
            {
                details.Add($"{Pluralize("pod or container", "pod or containers", unset.Count)} {JoinQuote(unset)} must set securityContext.runAsNonRoot=true");
            }
        }

        return details.Count == 0 ? null : string.Join("; ", details);
    }

    private static string? RunAsUser(JsonObject spec, IReadOnlyList<Container> containers)
    {
        var details = new List<string>();
        if (spec["securityContext"]?["runAsUser"]?.ToJsonString() == "0")
        {
            details.Add("pod must not set runAsUser=0");
        }

        var bad = containers.Where(c => c.Security("runAsUser")?.ToJsonString() == "0").Select(c => c.Name).ToList();
        if (bad.Count > 0)
        {
            details.Add(Containers(bad, "must not set runAsUser=0")!);
        }

        return details.Count == 0 ? null : string.Join("; ", details);
    }

    private static string? SeccompType(JsonNode? securityContext) => (string?)securityContext?["seccompProfile"]?["type"];

    private static string? SeccompBaseline(JsonObject spec, IReadOnlyList<Container> containers)
    {
        var details = new List<string>();
        if (SeccompType(spec["securityContext"]) == "Unconfined")
        {
            details.Add("pod must not set securityContext.seccompProfile.type to \"Unconfined\"");
        }

        var bad = containers.Where(c => SeccompType(c.Spec["securityContext"]) == "Unconfined").Select(c => c.Name).ToList();
        if (bad.Count > 0)
        {
            details.Add(Containers(bad, "must not set securityContext.seccompProfile.type to \"Unconfined\"")!);
        }

        return details.Count == 0 ? null : string.Join("; ", details);
    }

    private static string? SeccompRestricted(JsonObject spec, IReadOnlyList<Container> containers)
    {
        static bool Allowed(string? t) => t is "RuntimeDefault" or "Localhost";
        var details = new List<string>();
        var podType = SeccompType(spec["securityContext"]);
        if (podType is not null && !Allowed(podType))
        {
            details.Add($"pod must not set securityContext.seccompProfile.type to \"{podType}\"");
        }

        var explicitBad = containers.Where(c => SeccompType(c.Spec["securityContext"]) is { } t && !Allowed(t)).ToList();
        foreach (var group in explicitBad.GroupBy(c => SeccompType(c.Spec["securityContext"])))
        {
            details.Add(Containers(group.Select(c => c.Name).ToList(), $"must not set securityContext.seccompProfile.type to \"{group.Key}\"")!);
        }

        if (!Allowed(podType))
        {
            var unset = containers.Where(c => SeccompType(c.Spec["securityContext"]) is null).Select(c => c.Name).ToList();
            if (unset.Count > 0)
            {
                details.Add($"{Pluralize("pod or container", "pod or containers", unset.Count)} {JoinQuote(unset)} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"");
            }
        }

        return details.Count == 0 ? null : string.Join("; ", details);
    }
}
