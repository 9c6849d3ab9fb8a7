namespace K8sTraining.Contract;

/// <summary>
/// The labels that tie a series, the trainer's and the operator's alike, to its TrainingJob. Bounded (never a pod or a
/// step), and not Prometheus's own "job" and "namespace" target labels, which a scrape would rename to exported_*.
/// </summary>
public static class JobMetricLabels
{
    /// <summary>The TrainingJob's namespace.</summary>
    public const string Namespace = "job_namespace";

    /// <summary>The TrainingJob's name.</summary>
    public const string Name = "job_name";
}
