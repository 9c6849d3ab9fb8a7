using k8s.Models;

namespace K8sTraining.Deploy.Tests.Chart;

/// <summary>The Kubernetes types the chart may render, by apiVersion/kind, for strict typed parsing.</summary>
public static class KubernetesTypes
{
    public static readonly IReadOnlyDictionary<string, Type> BuiltIn = new Dictionary<string, Type>
    {
        ["v1/ServiceAccount"] = typeof(V1ServiceAccount),
        ["v1/Service"] = typeof(V1Service),
        ["v1/ConfigMap"] = typeof(V1ConfigMap),
        ["apps/v1/Deployment"] = typeof(V1Deployment),
        ["policy/v1/PodDisruptionBudget"] = typeof(V1PodDisruptionBudget),
        ["rbac.authorization.k8s.io/v1/ClusterRole"] = typeof(V1ClusterRole),
        ["rbac.authorization.k8s.io/v1/ClusterRoleBinding"] = typeof(V1ClusterRoleBinding),
        ["rbac.authorization.k8s.io/v1/Role"] = typeof(V1Role),
        ["rbac.authorization.k8s.io/v1/RoleBinding"] = typeof(V1RoleBinding),
        ["apiextensions.k8s.io/v1/CustomResourceDefinition"] = typeof(V1CustomResourceDefinition),
    };

    /// <summary>Kinds a cluster-scoped object has; everything else the chart renders is namespaced.</summary>
    public static readonly IReadOnlySet<string> ClusterScoped = new HashSet<string>
    {
        "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
    };
}
