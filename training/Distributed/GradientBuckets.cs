using TorchSharp.Modules;
using static TorchSharp.torch;

namespace K8sTraining.Training.Distributed;

/// <summary>
/// Sums the trainable parameters' gradients over all ranks, in flat buckets of at most <see cref="BucketBytes"/> (PyTorch
/// DDP's default bucket_cap_mb, 25 MiB): the gradients of consecutive parameters are copied into one preallocated
/// contiguous buffer, the buffer is all-reduced in place, and the sums are copied back. Each rank's loss was weighted by
/// its share of the global batch (local / global samples) before backward, so the sum is the gradient of the global
/// batch's mean loss. Runs after the last backward of an optimizer step and before clipping, so clipping and the
/// optimizer see the synchronised gradient. It does not overlap backward: TorchSharp exposes no per-parameter gradient
/// hooks to start a bucket while autograd is still running.
/// </summary>
public sealed class GradientBuckets : IDisposable
{
    /// <summary>The largest bucket, in bytes (a parameter larger than this gets a bucket of its own).</summary>
    public const long BucketBytes = 25L * 1024 * 1024;

    private readonly ICollective _collective;
    private readonly IReadOnlyList<Parameter> _parameters;
    private readonly (int First, int Count, long Elements)[] _layout;
    private readonly Tensor[] _buffers;

    public GradientBuckets(ICollective collective, IReadOnlyList<Parameter> trainable)
    {
        ArgumentNullException.ThrowIfNull(collective);
        ArgumentNullException.ThrowIfNull(trainable);
        _collective = collective;
        _parameters = trainable;
        var dtype = trainable.Count > 0 ? trainable[0].dtype : ScalarType.Float32;
        if (trainable.Any(p => p.dtype != dtype) || dtype is not (ScalarType.Float32 or ScalarType.Float64))
        {
            throw new NotSupportedException($"Data-parallel gradients are all-reduced as float32 or float64 of one type; the model has {string.Join(", ", trainable.Select(p => p.dtype).Distinct())}.");
        }
        var elementBytes = dtype == ScalarType.Float64 ? 8 : 4;
        _layout = [.. Layout(trainable.Select(p => p.numel()).ToList(), BucketBytes / elementBytes)];
        _buffers = [.. _layout.Select(b => empty(b.Elements, dtype))];
    }

    /// <summary>The buckets as (first parameter, parameters, elements); the total size per bucket stays within <see cref="BucketBytes"/>.</summary>
    public IReadOnlyList<(int First, int Count, long Elements)> Buckets => _layout;

    /// <summary>
    /// Consecutive parameters grouped into buckets of at most <paramref name="maxElements"/> elements (one larger
    /// parameter alone in its own), in parameter order: every rank cuts the same buckets from the same model.
    /// </summary>
    public static IReadOnlyList<(int First, int Count, long Elements)> Layout(IReadOnlyList<long> elements, long maxElements)
    {
        ArgumentNullException.ThrowIfNull(elements);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxElements);
        var buckets = new List<(int, int, long)>();
        var first = 0;
        long size = 0;
        for (var i = 0; i < elements.Count; i++)
        {
            if (i > first && size + elements[i] > maxElements)
            {
                buckets.Add((first, i - first, size));
                first = i;
                size = 0;
            }
            size += elements[i];
        }
        if (elements.Count > first)
        {
            buckets.Add((first, elements.Count - first, size));
        }
        return buckets;
    }

    /// <summary>Replaces every trainable parameter's gradient by its sum over all ranks (a parameter without one counts as zeros and gets none).</summary>
    public void AllReduce()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        for (var b = 0; b < _layout.Length; b++)
        {
            var (first, count, _) = _layout[b];
            var buffer = _buffers[b];
            long offset = 0;
            for (var i = first; i < first + count; i++)
            {
                var p = _parameters[i];
                var n = p.numel();
                var slot = buffer.narrow(0, offset, n);
                if (p.grad is { } grad)
                {
                    slot.copy_(grad.reshape(-1));
                }
                else
                {
                    slot.zero_();
                }
                offset += n;
            }
            _collective.AllReduceSum(buffer);
            offset = 0;
            for (var i = first; i < first + count; i++)
            {
                var p = _parameters[i];
                var n = p.numel();
                p.grad?.copy_(buffer.narrow(0, offset, n).view_as(p.grad));
                offset += n;
            }
        }
    }

    public void Dispose()
    {
        foreach (var buffer in _buffers)
        {
            buffer.Dispose();
        }
    }
}
