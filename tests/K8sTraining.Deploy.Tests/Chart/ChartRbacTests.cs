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

    [Fact]
    public async Task Rbac_Should_GrantARolePerWatchedNamespaceAndNothingClusterWide_When_NamespacesListed()
    {
        var chart = await Renders.OfAsync(ValueSets.Namespaced);
        var clusterWide = RbacRules.Granted(await Renders.OfAsync(ValueSets.ClusterWide), ServiceAccount);
        var granted = RbacRules.Granted(chart, ServiceAccount);

        Assert.Empty(chart.OfKind("ClusterRole"));
        Assert.Empty(chart.OfKind("ClusterRoleBinding"));
        Assert.Equal(["team-a", "team-b"], chart.OfKind("RoleBinding").Select(b => b.Namespace!).Where(n => n != Helm.ReleaseNamespace).Order());
        var clusterRules = clusterWide.Where(p => p.Scope == Permission.Cluster).Select(p => p with { Scope = "" }).ToHashSet();
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
