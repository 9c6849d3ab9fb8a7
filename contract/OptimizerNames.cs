namespace K8sTraining.Contract;

/// <summary>The optimizers the trainer can use (<c>--optimizer</c>, <c>spec.training.optimizer</c>).</summary>
public static class OptimizerNames
{
    /// <summary>Stochastic gradient descent with momentum 0.9.</summary>
    public const string Sgd = "sgd";

    /// <summary>Adam with decoupled weight decay.</summary>
    public const string AdamW = "adamw";

    /// <summary>Every allowed value, in the order the CRD lists them.</summary>
    public static readonly IReadOnlyList<string> All = [Sgd, AdamW];
}
