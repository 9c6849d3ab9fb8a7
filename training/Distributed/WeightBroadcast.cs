using TorchSharp;
using static TorchSharp.torch;

namespace K8sTraining.Training.Distributed;

/// <summary>Copies rank 0's weights and buffers over every other rank's, in place, tensor by tensor in the model's order.</summary>
public static class WeightBroadcast
{
    /// <summary>Every parameter and buffer: every rank starts from rank 0's weights.</summary>
    public static void Parameters(ICollective collective, nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(collective);
        ArgumentNullException.ThrowIfNull(model);
        using var noGrad = no_grad();
        foreach (var (_, parameter) in model.named_parameters())
        {
            BroadcastInPlace(collective, parameter);
        }
        Buffers(collective, model);
    }

    /// <summary>
    /// The buffers alone (BatchNorm's running statistics): each rank updates them from its own slice of the batch, so
    /// rank 0's (the ones its checkpoints hold) are copied to the others before every evaluation.
    /// </summary>
    public static void Buffers(ICollective collective, nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(collective);
        ArgumentNullException.ThrowIfNull(model);
        using var noGrad = no_grad();
        foreach (var (_, buffer) in model.named_buffers())
        {
            BroadcastInPlace(collective, buffer);
        }
    }

    private static void BroadcastInPlace(ICollective collective, Tensor tensor)
    {
        if (tensor.is_contiguous())
        {
            collective.Broadcast(tensor, 0);
            return;
        }
        using var copy = tensor.contiguous();
        collective.Broadcast(copy, 0);
        tensor.copy_(copy);
    }
}
