namespace K8sTraining.Training.Distributed;

/// <summary>The collective engines --dist-backend chooses from; gloo, the CPU engine, by default (the trainer trains on CPU).</summary>
public static class DistributedBackends
{
    /// <summary>PyTorch's CPU engine.</summary>
    public const string Gloo = "gloo";

    /// <summary>PyTorch's CUDA engine.</summary>
    public const string Nccl = "nccl";

    public const string Default = Gloo;

    public static readonly IReadOnlyList<string> All = [Gloo, Nccl];
}
