using static TorchSharp.torch;

namespace K8sTraining.Training.Regularization;

/// <summary>
/// Mixup (Zhang et al. 2018) and CutMix (Yun et al. 2019) on one batch. Every random choice (whether to mix, which of
/// the two, lambda, the partner permutation, the box) comes from <see cref="StepRandom"/> seeded by (seed, global step),
/// so a resumed run mixes every batch exactly as the uninterrupted run did.
/// </summary>
/// <param name="MixupAlpha">Beta(alpha, alpha) for mixup's lambda; 0 = off.</param>
/// <param name="CutMixAlpha">Beta(alpha, alpha) for CutMix's area ratio; 0 = off.</param>
/// <param name="Probability">The chance that a batch is mixed at all. With both on, each mixed batch picks one at even odds.</param>
public sealed record BatchMixing(double MixupAlpha, double CutMixAlpha, double Probability = 1.0)
{
    public bool Enabled => (MixupAlpha > 0 || CutMixAlpha > 0) && Probability > 0;

    /// <summary>
    /// The batch as the loss sees it. <paramref name="input"/> is [N, ...] (CutMix needs [N, C, H, W]);
    /// <paramref name="target"/> [N] class indices. The returned tensors belong to the caller's dispose scope.
    /// </summary>
    public MixedBatch Apply(Tensor input, Tensor target, StepRandom random)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(random);
        var n = (int)input.shape[0];
        if (!Enabled || random.NextDouble() >= Probability || n < 2)
        {
            return new MixedBatch(input, target, target, 1.0, MixingModes.None);
        }
        var cutMix = CutMixAlpha > 0 && input.dim() == 4 && (MixupAlpha <= 0 || random.NextDouble() < 0.5);
        var lambda = random.NextBeta(cutMix ? CutMixAlpha : MixupAlpha);
        using var permutation = tensor(random.Permutation(n));
        var partnerTarget = target.index_select(0, permutation);
        using var partnerInput = input.index_select(0, permutation);
        if (!cutMix)
        {
            var mixed = (input * lambda) + (partnerInput * (1 - lambda));
            return new MixedBatch(mixed, target, partnerTarget, lambda, MixingModes.Mixup);
        }
        var (height, width) = (input.shape[2], input.shape[3]);
        var cut = Math.Sqrt(1 - lambda);
        var (boxH, boxW) = ((long)(height * cut), (long)(width * cut));
        var (cy, cx) = (random.Next((int)height), random.Next((int)width));
        var (top, bottom) = (Math.Clamp(cy - (boxH / 2), 0, height), Math.Clamp(cy + (boxH / 2), 0, height));
        var (left, right) = (Math.Clamp(cx - (boxW / 2), 0, width), Math.Clamp(cx + (boxW / 2), 0, width));
        var pasted = input.clone();
        if (bottom > top && right > left)
        {
            var region = (TensorIndex.Colon, TensorIndex.Colon, TensorIndex.Slice(top, bottom), TensorIndex.Slice(left, right));
            using var patch = partnerInput[region.Item1, region.Item2, region.Item3, region.Item4];
            pasted[region.Item1, region.Item2, region.Item3, region.Item4] = patch;
        }
        // The label weight is the area actually kept, after the box was clipped at the border.
        var kept = 1.0 - ((double)(bottom - top) * (right - left) / (height * width));
        return new MixedBatch(pasted, target, partnerTarget, kept, MixingModes.CutMix);
    }
}

/// <summary>A batch after mixing: the loss is Lambda * L(output, TargetA) + (1 - Lambda) * L(output, TargetB).</summary>
public sealed record MixedBatch(Tensor Input, Tensor TargetA, Tensor TargetB, double Lambda, string Mode)
{
    public Tensor Loss(Tensor output, Func<Tensor, Tensor, Tensor> loss)
    {
        ArgumentNullException.ThrowIfNull(loss);
        if (Mode == MixingModes.None)
        {
            return loss(output, TargetA);
        }
        return (loss(output, TargetA) * Lambda) + (loss(output, TargetB) * (1 - Lambda));
    }
}

/// <summary>What a batch went through, as the CSV log names it.</summary>
public static class MixingModes
{
    public const string None = "none";
    public const string Mixup = "mixup";
    public const string CutMix = "cutmix";
}
