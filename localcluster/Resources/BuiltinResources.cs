namespace K8sTraining.LocalCluster.Resources;

/// <summary>The built-in resources the local control plane serves.</summary>
public static class BuiltinResources
{
    public static readonly ResourceType Pods = new("", "v1", "Pod", "pods", "pod", true)
    {
        ShortNames = ["po"], Categories = ["all"], HasStatus = true,
    };

    public static readonly ResourceType Namespaces = new("", "v1", "Namespace", "namespaces", "namespace", false)
    {
        ShortNames = ["ns"], HasStatus = true, Verbs = ["create", "delete", "get", "list", "patch", "update", "watch"],
    };

    public static readonly ResourceType Events = new("", "v1", "Event", "events", "event", true) { ShortNames = ["ev"] };

    public static readonly ResourceType Secrets = new("", "v1", "Secret", "secrets", "secret", true);

    public static readonly ResourceType ConfigMaps = new("", "v1", "ConfigMap", "configmaps", "configmap", true) { ShortNames = ["cm"] };

    public static readonly ResourceType Services = new("", "v1", "Service", "services", "service", true)
    {
        ShortNames = ["svc"], Categories = ["all"], HasStatus = true,
        Verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
    };

    public static readonly ResourceType ServiceAccounts = new("", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", true)
    {
        ShortNames = ["sa"],
    };

    public static readonly ResourceType Nodes = new("", "v1", "Node", "nodes", "node", false) { ShortNames = ["no"], HasStatus = true };

    public static readonly ResourceType Leases = new("coordination.k8s.io", "v1", "Lease", "leases", "lease", true);

    public static readonly ResourceType EventsV1 = new("events.k8s.io", "v1", "Event", "events", "event", true) { ShortNames = ["ev"] };

    public static readonly ResourceType PodDisruptionBudgets = new("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", "poddisruptionbudget", true)
    {
        ShortNames = ["pdb"], HasStatus = true, TracksGeneration = true,
    };

    public static readonly ResourceType Crds = new("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", "customresourcedefinition", false)
    {
        ShortNames = ["crd", "crds"], Categories = ["api-extensions"], HasStatus = true, TracksGeneration = true,
    };

    public static readonly ResourceType PriorityClasses = new("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", "priorityclass", false)
    {
        ShortNames = ["pc"],
    };

    public static readonly ResourceType EndpointSlices = new("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", "endpointslice", true);

    public static IReadOnlyList<ResourceType> All { get; } =
        [Pods, Namespaces, Events, Secrets, ConfigMaps, Services, ServiceAccounts, Nodes, Crds, Leases, EventsV1, PodDisruptionBudgets, PriorityClasses, EndpointSlices];
}
