using static TorchSharp.torch;

namespace K8sTraining.Training.Regularization;

/// <summary>
/// An exponential moving average of a model's parameters (shadow = decay * shadow + (1 - decay) * weight after every
/// optimizer step) with its buffers copied as they are (BatchNorm statistics). The shadow model has the same field
/// names as the model, so it is saved and restored by the same checkpoint code, and evaluated by swapping it in.
/// </summary>
public sealed class ExponentialMovingAverage : IDisposable
{
    private readonly nn.Module _model;
    private readonly (string Name, Tensor Shadow)[] _parameters;
    private readonly (string Name, Tensor Shadow)[] _buffers;

    public ExponentialMovingAverage(nn.Module model, double decay)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(decay, 0.0);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(decay, 1.0);
        _model = model;
        Decay = decay;
        using (no_grad())
        {
            _parameters = model.named_parameters().Select(p => (p.name, p.parameter.detach().clone())).ToArray();
            _buffers = model.named_buffers().Select(b => (b.name, b.buffer.detach().clone())).ToArray();
        }
    }

    public double Decay { get; }

    /// <summary>The averaged tensors by name: parameters, then buffers (the checkpoint's ema keys).</summary>
    public IEnumerable<(string Name, Tensor Tensor)> State => _parameters.Concat(_buffers);

    /// <summary>After each optimizer step.</summary>
    public void Update()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var current = _model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, shadow) in _parameters)
        {
            shadow.mul_(Decay).add_(current[name], alpha: 1 - Decay);
        }
        var buffers = _model.named_buffers().ToDictionary(b => b.name, b => b.buffer);
        foreach (var (name, shadow) in _buffers)
        {
            shadow.copy_(buffers[name]);
        }
    }

    /// <summary>Loads saved averages (same names and shapes), as a resume does.</summary>
    /// <summary>Starts the averages over from the model's current weights (a stage that starts from other weights).</summary>
    public void Restart()
    {
        using var noGrad = no_grad();
        var parameters = _model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var buffers = _model.named_buffers().ToDictionary(b => b.name, b => b.buffer);
        foreach (var (name, shadow) in _parameters)
        {
            shadow.copy_(parameters[name]);
        }
        foreach (var (name, shadow) in _buffers)
        {
            shadow.copy_(buffers[name]);
        }
    }

    public void Load(IReadOnlyDictionary<string, Tensor> saved)
    {
        ArgumentNullException.ThrowIfNull(saved);
        using var noGrad = no_grad();
        foreach (var (name, shadow) in _parameters.Concat(_buffers))
        {
            if (!saved.TryGetValue(name, out var value))
            {
                throw new InvalidDataException($"The saved EMA has no '{name}'.");
            }
            shadow.copy_(value);
        }
    }

    /// <summary>Swaps the averages into the model until the returned scope is disposed (evaluation of the EMA weights).</summary>
    public IDisposable SwapIn()
    {
        Swap();
        return new SwapBack(this);
    }

    public void Dispose()
    {
        foreach (var (_, t) in _parameters.Concat(_buffers))
        {
            t.Dispose();
        }
    }

    private void Swap()
    {
        using var noGrad = no_grad();
        var parameters = _model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var buffers = _model.named_buffers().ToDictionary(b => b.name, b => b.buffer);
        foreach (var (name, shadow) in _parameters)
        {
            SwapValues(parameters[name], shadow);
        }
        foreach (var (name, shadow) in _buffers)
        {
            SwapValues(buffers[name], shadow);
        }
    }

    private static void SwapValues(Tensor a, Tensor b)
    {
        using var keep = a.clone();
        a.copy_(b);
        b.copy_(keep);
    }

    private sealed class SwapBack(ExponentialMovingAverage owner) : IDisposable
    {
        private bool _done;

        public void Dispose()
        {
            if (!_done)
            {
                _done = true;
                owner.Swap();
            }
        }
    }
}
