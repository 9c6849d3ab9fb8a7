using K8sTraining.Deploy.Tests.Chart;
using K8sTraining.Deploy.Tests.Support;

namespace K8sTraining.Deploy.Tests.Rbac;

[Trait("Category", "Integration")]
public sealed class RbacLeastPrivilegeTests
{
    private const string ServiceAccount = "kt-k8s-training";

    public static TheoryData<string, string[], bool> Installs => new()
    {
        { ValueSets.Default, [], true },
        { ValueSets.ClusterWide, [], true },
        { ValueSets.Namespaced, ["team-a", "team-b"], true },
        { ValueSets.SingleReplicaNoLeaderElection, [], false },
    };

    [Theory]
    [MemberData(nameof(Installs))]
    public async Task Rbac_Should_GrantExactlyTheOperationsTheOperatorDeclares_When_ValuesAre(string valueSet, string[] watchNamespaces, bool leaderElection)
    {
        var granted = RbacRules.Granted(await Renders.OfAsync(valueSet), ServiceAccount);
        var required = OperatorPermissions.Required(watchNamespaces, leaderElection, Helm.ReleaseNamespace);

        var missing = required.Except(granted).Select(p => p.ToString()).Order().ToList();
        var extra = granted.Except(required).Select(p => p.ToString()).Order().ToList();
        Assert.True(
            missing.Count == 0 && extra.Count == 0,
            $"chart RBAC differs from operator/Runtime/ApiOperations.cs (edit charts/k8s-training/templates/_rbac.tpl)\n" +
            $"missing:\n  {string.Join("\n  ", missing)}\nextra:\n  {string.Join("\n  ", extra)}");
    }

    [Fact]
    public void OperatorPermissions_Should_IncludeOwnerFinalizers_When_PodsBlockOwnerDeletion()
    {
        var implied = Assert.Single(OperatorPermissions.ImpliedByAdmission());

        Assert.Equal("update k8straining.io/trainingjobs/finalizers", implied.ToString());
    }
}
