using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace K8sTraining.Operator.Api;

/// <summary>A training run that survives preemption: one trainer pod per attempt, resumed from the last checkpoint.</summary>
public sealed class TrainingJob : IKubernetesObject<V1ObjectMeta>, ISpec<TrainingJobSpec>, IStatus<TrainingJobStatus?>
{
    public const string KubeGroup = "k8straining.io";
    public const string KubeVersion = "v1alpha1";
    public const string KubeKind = "TrainingJob";
    public const string KubePlural = "trainingjobs";
    public const string KubeShortName = "tj";
    public const string KubeApiVersion = KubeGroup + "/" + KubeVersion;

    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = KubeApiVersion;

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = KubeKind;

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    [JsonPropertyName("spec")]
    public required TrainingJobSpec Spec { get; set; }

    [JsonPropertyName("status")]
    public TrainingJobStatus? Status { get; set; }

    /// <summary>namespace/name, the work queue key.</summary>
    [JsonIgnore]
    public string Key => $"{Metadata.NamespaceProperty}/{Metadata.Name}";
}

/// <summary>The list kind the API server returns for TrainingJobs.</summary>
public sealed class TrainingJobList : IKubernetesObject<V1ListMeta>, IItems<TrainingJob>
{
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = TrainingJob.KubeApiVersion;

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = TrainingJob.KubeKind + "List";

    [JsonPropertyName("metadata")]
    public V1ListMeta Metadata { get; set; } = new();

    [JsonPropertyName("items")]
    public IList<TrainingJob> Items { get; set; } = [];
}
