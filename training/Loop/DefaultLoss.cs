using System.Globalization;
using K8sTraining.Contract;
using K8sTraining.Training.Options;
using K8sTraining.Training.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace K8sTraining.Training.Loop;

/// <summary>The loss a task gets when it brings none: <c>--loss</c> with <c>--class-weights</c>.</summary>
public static class DefaultLoss
{
    /// <summary>The value of <c>--class-weights</c> that weighs every class alike.</summary>
    public const string NoWeights = "none";

    /// <summary>The value of <c>--class-weights</c> that weighs each class by its inverse frequency in the training split.</summary>
    public const string AutoWeights = "auto";

    /// <summary>
    /// The loss <c>--loss</c> names, class-weighted by <c>--class-weights</c>; with <paramref name="labelSmoothing"/> above
    /// 0 (cross-entropy only), the targets are smoothed: 1 - eps on the class, eps / classes spread over all, as PyTorch's.
    /// </summary>
    public static LossFunction Create(TrainerOptions options, ITrainingDataset train, int classes, double labelSmoothing = 0)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(train);
        var weights = ClassWeights(options.ClassWeights, train, classes);
        // Made once, outside every step's dispose scope, and kept for the run.
        var weightTensor = weights is null ? null : torch.tensor(weights);
        if (labelSmoothing > 0)
        {
            return (output, target) => nn.functional.cross_entropy(output, target, weight: weightTensor, label_smoothing: labelSmoothing);
        }
        return options.Loss switch
        {
            LossNames.Focal => FocalLoss(options.FocalGamma, weightTensor),
            _ => weightTensor is null
                ? (output, target) => nn.functional.cross_entropy(output, target)
                : (output, target) => nn.functional.cross_entropy(output, target, weight: weightTensor),
        };
    }

    /// <summary>
    /// The weight of each class, or null for none. auto: 1 / (samples of the class), normalised to mean 1 over the classes
    /// present (an absent class gets 0: it never appears as a target). A list must give one weight per class.
    /// </summary>
    public static float[]? ClassWeights(string setting, ITrainingDataset train, int classes)
    {
        ArgumentNullException.ThrowIfNull(setting);
        ArgumentNullException.ThrowIfNull(train);
        if (setting == NoWeights)
        {
            return null;
        }
        if (setting == AutoWeights)
        {
            var counts = new long[classes];
            for (var i = 0; i < train.Count; i++)
            {
                var label = train.LabelOf(i);
                if (label < 0 || label >= classes)
                {
                    throw new InvalidInputException($"--class-weights auto: sample {i} has label {label}, outside the {classes} classes [0, {classes}); fix the data or --num-classes");
                }
                counts[label]++;
            }
            var inverse = counts.Select(c => c == 0 ? 0.0 : 1.0 / c).ToArray();
            var present = counts.Count(c => c > 0);
            var mean = present == 0 ? 1.0 : inverse.Sum() / present;
            return inverse.Select(w => (float)(w / mean)).ToArray();
        }
        var given = setting.Split(',').Select(w => float.Parse(w, NumberStyles.Float, CultureInfo.InvariantCulture)).ToArray();
        if (given.Length != classes)
        {
            throw new InvalidInputException($"--class-weights: {given.Length} weight(s) given, but the model has {classes} classes; give exactly one weight per class, or use auto or none");
        }
        return given;
    }

    /// <summary>
    /// Focal loss (Lin et al. 2017): -w_t (1 - p_t)^gamma log p_t, averaged over the batch with the class weights as the
    /// weights of the average (as weighted cross-entropy is), so gamma 0 is exactly cross-entropy.
    /// </summary>
    public static LossFunction FocalLoss(double gamma, Tensor? weights)
    {
        var one = 1.0.ToScalar();
        var exponent = gamma.ToScalar();
        return (output, target) =>
        {
            var logProbability = nn.functional.log_softmax(output, 1).gather(1, target.unsqueeze(1)).squeeze(1);
            var modulation = logProbability.exp().neg().add(one).pow(exponent);
            var perSample = modulation.mul(logProbability).neg();
            if (weights is null)
            {
                return perSample.mean();
            }
            var sampleWeights = weights.index_select(0, target);
            return perSample.mul(sampleWeights).sum().div(sampleWeights.sum());
        };
    }
}
