using k8s.Models;
using K8sTraining.Deploy.Tests.Chart;
using K8sTraining.Operator.Api;
using K8sTraining.Operator.Pods;
using K8sTraining.Operator.Runtime;

namespace K8sTraining.Deploy.Tests.Rbac;

/// <summary>The permissions the operator needs, derived from its own code rather than written down twice.</summary>
public static class OperatorPermissions
{
    /// <summary>What a chart installed into the release namespace must grant, for the given namespaces (empty: all).</summary>
    public static IReadOnlySet<Permission> Required(IReadOnlyList<string> watchNamespaces, bool leaderElection, string releaseNamespace)
    {
        var scopes = watchNamespaces.Count == 0 ? [Permission.Cluster] : watchNamespaces;
        var required = new HashSet<Permission>();
        foreach (var scope in scopes)
        {
            required.UnionWith(ApiOperations.Namespaced.Select(o => ToPermission(scope, o)));
            required.UnionWith(ImpliedByAdmission().Select(o => ToPermission(scope, o)));
        }

        // Nodes are cluster-scoped: read through a ClusterRole whatever namespaces are watched.
        required.UnionWith(ApiOperations.ClusterScoped.Select(o => ToPermission(Permission.Cluster, o)));

        if (leaderElection)
        {
            required.UnionWith(ApiOperations.LeaderElection.Select(o => ToPermission(releaseNamespace, o)));
        }

        return required;
    }

    /// <summary>
    /// Permissions that no request names but admission checks: creating an object whose ownerReference sets
    /// blockOwnerDeletion needs update on the owner's finalizers subresource (OwnerReferencesPermissionEnforcement,
    /// on by default in OpenShift and hardened clusters). Derived from the pod the operator really builds.
    /// </summary>
    public static IEnumerable<ApiOperation> ImpliedByAdmission()
    {
        var job = new TrainingJob
        {
            Metadata = new V1ObjectMeta { Name = "rbac-probe", NamespaceProperty = "default", Uid = Guid.NewGuid().ToString() },
            Spec = new TrainingJobSpec { Training = new TrainingSpec { Model = "mlp", Dataset = "synthetic" } },
        };
        var pod = TrainerPodBuilder.Build(job, attempt: 1);
        foreach (var owner in pod.Metadata.OwnerReferences ?? [])
        {
            if (owner.BlockOwnerDeletion == true)
            {
                Assert.Equal(TrainingJob.KubeApiVersion, owner.ApiVersion);
                yield return new ApiOperation("update", TrainingJob.KubeGroup, TrainingJob.KubePlural, "finalizers");
            }
        }
    }

    public static Permission ToPermission(string scope, ApiOperation operation) => new(
        scope,
        operation.Group,
        operation.Subresource.Length == 0 ? operation.Resource : $"{operation.Resource}/{operation.Subresource}",
        operation.Verb);
}
