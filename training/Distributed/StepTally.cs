using static TorchSharp.torch;

namespace K8sTraining.Training.Distributed;

/// <summary>
/// What every rank contributes to a step's agreement: whether it wants to stop (a signal, a test stop, its deadline),
/// and its samples' loss sum, sample count and right answers. Summed over the ranks (one float64 all-reduce per step),
/// every rank holds the same totals, and a stop wished by any rank is agreed by all at the same step.
/// </summary>
public readonly record struct StepTally(bool Stop, double LossSum, long Samples, long Correct)
{
    /// <summary>The tally as the all-reduced tensor's values: [stop, loss sum, samples, correct].</summary>
    public double[] ToValues() => [Stop ? 1 : 0, LossSum, Samples, Correct];

    /// <summary>The tally of summed values: stopped when any rank asked (samples and answers are exact in float64 up to 2^53).</summary>
    public static StepTally FromSums(ReadOnlySpan<double> sums)
    {
        if (sums.Length != 4)
        {
            throw new ArgumentException($"A step tally has 4 values, not {sums.Length}.", nameof(sums));
        }
        return new StepTally(sums[0] > 0, sums[1], checked((long)sums[2]), checked((long)sums[3]));
    }

    /// <summary>The mean loss over all ranks' samples of the step (0 without samples).</summary>
    public double MeanLoss => Samples > 0 ? LossSum / Samples : 0;

    /// <summary>Sums <paramref name="local"/> over every rank of <paramref name="collective"/>.</summary>
    public static StepTally Agree(ICollective collective, StepTally local)
    {
        ArgumentNullException.ThrowIfNull(collective);
        using var scope = NewDisposeScope();
        // Torch's own memory, not a managed array's: the engine writes into it in place.
        var values = empty(4, ScalarType.Float64);
        values.bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(local.ToValues().AsSpan());
        collective.AllReduceSum(values);
        return FromSums(values.data<double>().ToArray());
    }
}
