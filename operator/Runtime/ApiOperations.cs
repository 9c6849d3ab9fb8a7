namespace K8sTraining.Operator.Runtime;

/// <summary>One kind of request the operator makes; the Helm chart's RBAC must grant exactly these.</summary>
public sealed record ApiOperation(string Verb, string Group, string Resource, string Subresource = "")
{
    public override string ToString() => $"{Verb} {(Group.Length == 0 ? "core" : Group)}/{Resource}{(Subresource.Length == 0 ? "" : "/" + Subresource)}";
}

/// <summary>Every (verb, group, resource, subresource) the operator calls, in one place. KubernetesApi uses only these.</summary>
public static class ApiOperations
{
    public static readonly ApiOperation ListTrainingJobs = new("list", "k8straining.io", "trainingjobs");
    public static readonly ApiOperation WatchTrainingJobs = new("watch", "k8straining.io", "trainingjobs");
    public static readonly ApiOperation UpdateTrainingJobStatus = new("update", "k8straining.io", "trainingjobs", "status");
    public static readonly ApiOperation DeleteTrainingJob = new("delete", "k8straining.io", "trainingjobs");
    public static readonly ApiOperation ListPods = new("list", "", "pods");
    public static readonly ApiOperation WatchPods = new("watch", "", "pods");
    public static readonly ApiOperation GetPod = new("get", "", "pods");
    public static readonly ApiOperation CreatePod = new("create", "", "pods");
    public static readonly ApiOperation DeletePod = new("delete", "", "pods");
    public static readonly ApiOperation PatchPod = new("patch", "", "pods");
    public static readonly ApiOperation CreateEvent = new("create", "", "events");
    public static readonly ApiOperation CreateService = new("create", "", "services");
    public static readonly ApiOperation GetService = new("get", "", "services");
    public static readonly ApiOperation PatchService = new("patch", "", "services");
    public static readonly ApiOperation GetLease = new("get", "coordination.k8s.io", "leases");
    public static readonly ApiOperation CreateLease = new("create", "coordination.k8s.io", "leases");
    public static readonly ApiOperation UpdateLease = new("update", "coordination.k8s.io", "leases");
    public static readonly ApiOperation ListNodes = new("list", "", "nodes");
    public static readonly ApiOperation WatchNodes = new("watch", "", "nodes");
    public static readonly ApiOperation GetNode = new("get", "", "nodes");

    /// <summary>Operations in the watched namespaces (ClusterRole when watching all, a Role per namespace otherwise).</summary>
    public static readonly IReadOnlyList<ApiOperation> Namespaced =
    [
        ListTrainingJobs, WatchTrainingJobs, UpdateTrainingJobStatus, DeleteTrainingJob,
        ListPods, WatchPods, GetPod, CreatePod, DeletePod, PatchPod, CreateEvent,
        CreateService, GetService, PatchService,
    ];

    /// <summary>Operations in the leader-election namespace only.</summary>
    public static readonly IReadOnlyList<ApiOperation> LeaderElection = [GetLease, CreateLease, UpdateLease];

    /// <summary>
    /// Operations on cluster-scoped objects, whatever namespaces are watched (always a ClusterRole): Nodes, read to
    /// tell a trainer pod on a lost Node (issue 12); a Node missing from the cache is confirmed with a get, as pod GC does.
    /// </summary>
    public static readonly IReadOnlyList<ApiOperation> ClusterScoped = [ListNodes, WatchNodes, GetNode];

    public static readonly IReadOnlyList<ApiOperation> All = [.. Namespaced, .. LeaderElection, .. ClusterScoped];
}
