using System.Text.Json.Nodes;
using K8sTraining.Deploy.Tests.Support;

namespace K8sTraining.Deploy.Tests.Chart;

/// <summary>One permission: a verb on a resource (with subresource, as "pods/status") of an API group, in a scope.</summary>
public sealed record Permission(string Scope, string Group, string Resource, string Verb)
{
    /// <summary>The scope of a ClusterRole bound cluster-wide.</summary>
    public const string Cluster = "*cluster*";

    public override string ToString() => $"{Scope}: {Verb} {(Group.Length == 0 ? "core" : Group)}/{Resource}";
}

/// <summary>The permissions the rendered chart grants, by reading its Roles, ClusterRoles and their bindings.</summary>
public static class RbacRules
{
    /// <summary>Every (scope, group, resource, verb) granted to the service account, expanded one per line.</summary>
    public static IReadOnlySet<Permission> Granted(RenderedChart chart, string serviceAccount)
    {
        var granted = new HashSet<Permission>();
        foreach (var binding in chart.OfKind("RoleBinding").Concat(chart.OfKind("ClusterRoleBinding")))
        {
            var subjects = binding.Json["subjects"]!.AsArray();
            if (!subjects.Any(s => (string?)s!["kind"] == "ServiceAccount" && (string?)s["name"] == serviceAccount
                    && (string?)s["namespace"] == Helm.ReleaseNamespace))
            {
                continue;
            }

            var roleRef = binding.Json["roleRef"]!;
            var roleKind = (string)roleRef["kind"]!;
            var role = chart.OfKind(roleKind).Single(r => r.Name == (string?)roleRef["name"]
                && (roleKind == "ClusterRole" || r.Namespace == binding.Namespace));
            var scope = binding.Kind == "ClusterRoleBinding" ? Permission.Cluster : binding.Namespace!;
            foreach (var rule in role.Json["rules"]!.AsArray())
            {
                foreach (var group in Strings(rule!["apiGroups"]))
                {
                    foreach (var resource in Strings(rule["resources"]))
                    {
                        foreach (var verb in Strings(rule["verbs"]))
                        {
                            granted.Add(new Permission(scope, group, resource, verb));
                        }
                    }
                }
            }
        }

        return granted;
    }

    /// <summary>Every string in every rule of every Role and ClusterRole, wherever it appears.</summary>
    public static IEnumerable<(RenderedObject Role, JsonObject Rule)> AllRules(RenderedChart chart) =>
        chart.OfKind("Role").Concat(chart.OfKind("ClusterRole"))
            .SelectMany(r => r.Json["rules"]!.AsArray().Select(rule => (r, rule!.AsObject())));

    public static IEnumerable<string> Strings(JsonNode? node) =>
        node?.AsArray().Select(n => (string)n!) ?? [];
}
