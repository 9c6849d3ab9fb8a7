namespace K8sTraining.Contract;

/// <summary>The losses the trainer can minimise (<c>--loss</c>, <c>spec.training.loss</c>).</summary>
public static class LossNames
{
    /// <summary>Cross-entropy, optionally with class weights (<c>--class-weights</c>).</summary>
    public const string CrossEntropy = "cross-entropy";

    /// <summary>Focal loss (Lin et al. 2017): cross-entropy scaled by (1 - p_t)^gamma, optionally class-weighted.</summary>
    public const string Focal = "focal";

    /// <summary>Every allowed value, in the order the CRD lists them.</summary>
    public static readonly IReadOnlyList<string> All = [CrossEntropy, Focal];
}
