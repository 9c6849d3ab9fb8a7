using K8sTraining.Contract;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace K8sTraining.Training.Optimization;

/// <summary>
/// The optimizer and its knobs (<c>--optimizer</c>, <c>--momentum</c>, <c>--nesterov</c>, <c>--weight-decay</c>).
/// The learning rate and momentum of every step come from the schedule through <see cref="Apply"/>; the optimizer's
/// own state (momentum buffers, Adam moments, step counts) is saved in the checkpoint.
/// </summary>
public sealed record OptimizerSettings(string Name, double LearningRate, double Momentum = 0.9, bool Nesterov = false, double WeightDecay = 0)
{
    public OptimizerHelper Create(IEnumerable<Parameter> parameters) => Name switch
    {
        OptimizerNames.Sgd => optim.SGD(parameters, LearningRate, momentum: Momentum, weight_decay: WeightDecay, nesterov: Nesterov),
        OptimizerNames.AdamW => optim.AdamW(parameters, LearningRate, beta1: Momentum, weight_decay: WeightDecay),
        _ => throw new ArgumentException($"Unknown optimizer '{Name}'; allowed: {string.Join(", ", OptimizerNames.All)}"),
    };

    /// <summary>Sets the step's learning rate and, when the schedule cycles it, its momentum (SGD momentum, AdamW beta1).</summary>
    public static void Apply(OptimizerHelper optimizer, double learningRate, double? momentum)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        foreach (var group in optimizer.ParamGroups)
        {
            group.LearningRate = learningRate;
            if (momentum is not { } m)
            {
                continue;
            }
            switch (group)
            {
                case ParamGroup<SGD.Options> sgd:
                    sgd.Options.momentum = m;
                    break;
                case ParamGroup<AdamW.Options> adamw:
                    adamw.Options.beta1 = m;
                    break;
            }
        }
    }

    /// <summary>The momentum the optimizer uses now (SGD momentum or AdamW beta1), for the log and the metrics.</summary>
    public static double? CurrentMomentum(OptimizerHelper optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        return optimizer.ParamGroups.FirstOrDefault() switch
        {
            ParamGroup<SGD.Options> sgd => sgd.Options.momentum,
            ParamGroup<AdamW.Options> adamw => adamw.Options.beta1,
            _ => null,
        };
    }
}
