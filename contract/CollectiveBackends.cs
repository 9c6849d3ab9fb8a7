namespace K8sTraining.Contract;

/// <summary>
/// The collective engines a data-parallel trainer can use (<c>--dist-backend</c>, TRAINER_DIST_BACKEND): the ones PyTorch
/// itself uses, Gloo on CPU and NCCL on CUDA.
/// </summary>
public static class CollectiveBackends
{
    /// <summary>Gloo over TCP: CPU tensors.</summary>
    public const string Gloo = "gloo";

    /// <summary>NVIDIA's NCCL: CUDA tensors.</summary>
    public const string Nccl = "nccl";

    /// <summary>Every backend, in the order help texts list them.</summary>
    public static readonly IReadOnlyList<string> All = [Gloo, Nccl];
}
