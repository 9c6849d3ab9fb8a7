using System.Text.Json.Nodes;

namespace K8sTraining.LocalCluster.Resources;

/// <summary>What the server knows about one resource at one served version.</summary>
public sealed record ResourceType(string Group, string Version, string Kind, string Plural, string Singular, bool Namespaced)
{
    public IReadOnlyList<string> ShortNames { get; init; } = [];

    public IReadOnlyList<string> Categories { get; init; } = [];

    public IReadOnlyList<string> Verbs { get; init; } =
        ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

    /// <summary>Whether a status subresource splits writes of status from writes of everything else.</summary>
    public bool HasStatus { get; init; }

    /// <summary>Served through a CustomResourceDefinition (no strategic merge patch, schema validation, generation).</summary>
    public bool IsCustom { get; init; }

    /// <summary>metadata.generation is kept (custom resources and a few built-in kinds).</summary>
    public bool TracksGeneration { get; init; }

    public JsonObject? Schema { get; init; }

    public JsonArray? PrinterColumns { get; init; }

    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    /// <summary>"pods" or "trainingjobs.k8straining.io": how error messages name the resource.</summary>
    public string GroupResource => Group.Length == 0 ? Plural : $"{Plural}.{Group}";

    /// <summary>"Pod" or "TrainingJob.k8straining.io": how Invalid errors name the kind.</summary>
    public string QualifiedKind => Group.Length == 0 ? Kind : $"{Kind}.{Group}";

    /// <summary>Objects live under this key whatever version they are read through.</summary>
    public string StorageKey => $"{Group}/{Plural}";

    public string ListKind => Kind + "List";
}
