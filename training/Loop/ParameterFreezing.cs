using K8sTraining.Training.Options;
using TorchSharp;
using TorchSharp.Modules;

namespace K8sTraining.Training.Loop;

/// <summary>
/// <c>--freeze PREFIX,...</c>: the parameters whose names (as the checkpoint keys them, <c>layer1.0.conv1.weight</c>)
/// start with a prefix stop training; the optimizer gets only the others.
/// </summary>
public static class ParameterFreezing
{
    /// <summary>Freezes the matching parameters and returns the trainable ones; exit 2 when a prefix matches nothing.</summary>
    public static IReadOnlyList<Parameter> Apply(torch.nn.Module model, IReadOnlyList<string> prefixes)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(prefixes);
        var named = model.named_parameters().ToList();
        foreach (var prefix in prefixes)
        {
            if (!named.Any(p => p.name.StartsWith(prefix, StringComparison.Ordinal)))
            {
                var roots = named.Select(p => p.name.Split('.')[0]).Distinct(StringComparer.Ordinal);
                throw new InvalidInputException($"--freeze: '{prefix}' matches no parameter of the model; allowed: prefixes of the parameter names, such as {string.Join(", ", roots)}");
            }
        }
        var trainable = new List<Parameter>();
        foreach (var (name, parameter) in named)
        {
            var frozen = prefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal));
            parameter.requires_grad = !frozen;
            if (!frozen)
            {
                trainable.Add(parameter);
            }
        }
        if (trainable.Count == 0)
        {
            throw new InvalidInputException($"--freeze: '{string.Join(',', prefixes)}' freezes every parameter; leave at least one layer to train");
        }
        return trainable;
    }
}
