using K8sTraining.Deploy.Tests.Support;

namespace K8sTraining.Deploy.Tests.Chart;

[Trait("Category", "Integration")]
public sealed class ChartRbacTests
{
    private const string ServiceAccount = "kt-k8s-training";

    [Theory]
    [MemberData(nameof(ValueSets.Names), MemberType = typeof(ValueSets))]
    public async Task Rbac_Should_NameEveryVerbResourceAndGroup_When_ValuesAre(string valueSet)
    {
        var chart = await Renders.OfAsync(valueSet);

        foreach (var (role, rule) in RbacRules.AllRules(chart))
        {
            Assert.False(rule.ContainsKey("nonResourceURLs"), $"{role} grants non-resource URLs");
            Assert.False(rule.ContainsKey("resourceNames") && !RbacRules.Strings(rule["resourceNames"]).Any(), $"{role} has an empty resourceNames");
            foreach (var field in new[] { "apiGroups", "resources", "verbs" })
            {
                var values = RbacRules.Strings(rule[field]).ToList();
                Assert.NotEmpty(values);
                Assert.DoesNotContain(values, v => v.Contains('*'));
            }

            Assert.DoesNotContain(RbacRules.Strings(rule["verbs"]), v => v is "escalate" or "bind" or "impersonate" or "deletecollection");
        }
    }

    [Fact]
    public async Task Rbac_Should_BindAClusterRole_When_WatchingAllNamespaces()
    {
        var chart = await Renders.OfAsync(ValueSets.ClusterWide);

        var clusterRole = chart.Single("ClusterRole");
        var binding = chart.Single("ClusterRoleBinding");
        Assert.Equal(clusterRole.Name, (string?)binding.Json["roleRef"]!["name"]);
        Assert.Equal("ClusterRole", (string?)binding.Json["roleRef"]!["kind"]);
        var onlyNamespacedRole = Assert.Single(chart.OfKind("Role"));
        Assert.EndsWith("-leader-election", onlyNamespacedRole.Name);
        Assert.Contains(RbacRules.Granted(chart, ServiceAccount), p => p.Scope == Permission.Cluster);
    }

    [Theory]
    [MemberData(nameof(ValueSets.Names), MemberType = typeof(ValueSets))]
    public async Task Rbac_Should_LetTheOperatorOnlyReadNodes_When_ValuesAre(string valueSet)
    {
        var granted = RbacRules.Granted(await Renders.OfAsync(valueSet), ServiceAccount);

        var nodes = granted.Where(p => p.Resource == "nodes").ToList();
        if (nodes.Count == 0)
        {
            // rbac.create false: nothing is granted at all.
            Assert.Empty(granted);
            return;
        }

        Assert.Equal(["get", "list", "watch"], nodes.Select(p => p.Verb).Order());
        Assert.All(nodes, p => Assert.Equal((Permission.Cluster, ""), (p.Scope, p.Group)));
    }

    [Fact]
    public async Task Rbac_Should_GrantARolePerWatchedNamespaceAndOnlyNodeReadsClusterWide_When_NamespacesListed()
    {
        var chart = await Renders.OfAsync(ValueSets.Namespaced);
        var clusterWide = RbacRules.Granted(await Renders.OfAsync(ValueSets.ClusterWide), ServiceAccount);
        var granted = RbacRules.Granted(chart, ServiceAccount);

        // Nodes are cluster-scoped (issue 12): the only cluster-wide grant is reading them, through a ClusterRole of its own.
        var nodesRole = Assert.Single(chart.OfKind("ClusterRole"));
        Assert.EndsWith("-nodes", nodesRole.Name);
        Assert.Equal(nodesRole.Name, (string?)Assert.Single(chart.OfKind("ClusterRoleBinding")).Json["roleRef"]!["name"]);
        Assert.Equal(
            ["get core/nodes", "list core/nodes", "watch core/nodes"],
            granted.Where(p => p.Scope == Permission.Cluster).Select(p => $"{p.Verb} core/{p.Resource}").Order());
        Assert.Equal(["team-a", "team-b"], chart.OfKind("RoleBinding").Select(b => b.Namespace!).Where(n => n != Helm.ReleaseNamespace).Order());
        var clusterRules = clusterWide.Where(p => p.Scope == Permission.Cluster && p.Resource != "nodes").Select(p => p with { Scope = "" }).ToHashSet();
        foreach (var ns in new[] { "team-a", "team-b" })
        {
            // the same rules as cluster-wide, only scoped
            Assert.Equal(clusterRules.OrderBy(p => p.ToString()), granted.Where(p => p.Scope == ns).Select(p => p with { Scope = "" }).OrderBy(p => p.ToString()));
        }
    }

    [Theory]
    [InlineData(ValueSets.Default)]
    [InlineData(ValueSets.Namespaced)]
    public async Task Rbac_Should_GrantLeasesOnlyInTheReleaseNamespace_When_LeaderElectionEnabled(string valueSet)
    {
        var granted = RbacRules.Granted(await Renders.OfAsync(valueSet), ServiceAccount);

        var leases = granted.Where(p => p.Resource == "leases").ToList();
        Assert.Equal(["create", "get", "update"], leases.Select(p => p.Verb).Order());
        Assert.All(leases, p => Assert.Equal((Helm.ReleaseNamespace, "coordination.k8s.io"), (p.Scope, p.Group)));
    }

    [Fact]
    public async Task Rbac_Should_LimitLeaseReadsAndWritesToTheReleasesOwnLease_When_LeaderElectionEnabled()
    {
        var chart = await Renders.OfAsync(ValueSets.Default);
        var args = (await ChartTemplateTests.DeploymentOfAsync(ValueSets.Default)).Spec.Template.Spec.Containers.Single().Args;
        var leaseName = args[args.IndexOf("--leader-election-lease-name") + 1];

        var leaseRules = RbacRules.AllRules(chart).Where(r => RbacRules.Strings(r.Rule["resources"]).Contains("leases")).ToList();
        Assert.Equal("kt-k8s-training", leaseName);
        foreach (var (_, rule) in leaseRules)
        {
            var verbs = RbacRules.Strings(rule["verbs"]).ToList();
            if (verbs.Contains("create"))
            {
                Assert.Equal(["create"], verbs); // create cannot be limited by name
                Assert.False(rule.ContainsKey("resourceNames"));
            }
            else
            {
                Assert.Equal([leaseName], RbacRules.Strings(rule["resourceNames"]));
            }
        }
    }

    [Fact]
    public async Task Rbac_Should_GrantNoLeases_When_LeaderElectionDisabled()
    {
        var granted = RbacRules.Granted(await Renders.OfAsync(ValueSets.SingleReplicaNoLeaderElection), ServiceAccount);

        Assert.NotEmpty(granted);
        Assert.DoesNotContain(granted, p => p.Resource == "leases");
    }

    [Fact]
    public async Task Rbac_Should_RenderNothing_When_RbacCreateIsFalse()
    {
        var chart = await Helm.TemplateAsync("rbac: {create: false}");

        Assert.Empty(RbacRules.AllRules(chart));
        Assert.Empty(chart.OfKind("RoleBinding").Concat(chart.OfKind("ClusterRoleBinding")));
    }

    [Fact]
    public async Task Deployment_Should_RollPods_When_PermissionsChange()
    {
        var before = await ChartTemplateTests.DeploymentOfAsync(ValueSets.ClusterWide);
        var after = await ChartTemplateTests.DeploymentOfAsync(ValueSets.Namespaced);

        Assert.NotEqual(
            before.Spec.Template.Metadata.Annotations["checksum/rbac"],
            after.Spec.Template.Metadata.Annotations["checksum/rbac"]);
    }
}
