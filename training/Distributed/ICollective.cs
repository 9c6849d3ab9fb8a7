using static TorchSharp.torch;

namespace K8sTraining.Training.Distributed;

/// <summary>
/// One process's membership in the job's collective group (every rank of every worker): the three operations data
/// parallel training needs, on the engines PyTorch itself uses (Gloo on CPU, NCCL on CUDA). Every call is collective:
/// all ranks call it in the same order with tensors of the same size and dtype. A peer that vanishes, or a call that
/// does not complete within the group's timeout, raises <see cref="CollectiveException"/> on the ranks still alive.
/// </summary>
public interface ICollective : IDisposable
{
    /// <summary>This process's rank, 0 to <see cref="WorldSize"/> - 1.</summary>
    int Rank { get; }

    /// <summary>Processes in the group.</summary>
    int WorldSize { get; }

    /// <summary>The engine: "gloo" or "nccl".</summary>
    string Backend { get; }

    /// <summary>
    /// Sums a contiguous float32 or float64 tensor over all ranks, in place. Every rank ends with the same bits, and the
    /// same inputs give the same bits run to run.
    /// </summary>
    void AllReduceSum(Tensor tensor);

    /// <summary>Copies <paramref name="root"/>'s contiguous tensor (any dtype) over every other rank's, in place.</summary>
    void Broadcast(Tensor tensor, int root);

    /// <summary>Returns once every rank has called it.</summary>
    void Barrier();
}
