using K8sTraining.Contract;

namespace K8sTraining.Training.Schedules;

/// <summary>
/// A learning-rate (and, for OneCycle, momentum) schedule as a pure function of the optimizer step: its whole state is
/// its settings, so a resumed run computes exactly the value the uninterrupted run used at that step.
/// </summary>
/// <param name="Kind">One of <see cref="SchedulerNames"/>.</param>
/// <param name="BaseLearningRate">The peak learning rate: after warmup for every kind; OneCycle's maximum.</param>
/// <param name="MinLearningRate">Where cosine and linear end (and warmup starts from 0 up to the base).</param>
/// <param name="TotalSteps">Optimizer steps in the whole run (cosine, linear and OneCycle end there).</param>
/// <param name="StepsPerEpoch">Optimizer steps per epoch (exponential's gamma is per epoch).</param>
/// <param name="WarmupSteps">Linear warmup from 0 to the base over these first steps (not for OneCycle, which warms up itself).</param>
/// <param name="Gamma">The factor of step, multistep (per stage) and exponential (per epoch).</param>
/// <param name="StepSize">step: the learning rate is multiplied by gamma every StepSize steps after warmup.</param>
/// <param name="Milestones">multistep: the steps at which the learning rate is multiplied by gamma.</param>
/// <param name="OneCycle">OneCycle's shape (PyTorch's OneCycleLR defaults when null).</param>
public sealed record LearningRateSchedule(
    string Kind,
    double BaseLearningRate,
    double MinLearningRate,
    long TotalSteps,
    long StepsPerEpoch,
    long WarmupSteps = 0,
    double Gamma = 0.1,
    long StepSize = 1,
    IReadOnlyList<long>? Milestones = null,
    OneCycleShape? OneCycle = null)
{
    /// <summary>The learning rate and, for OneCycle, the momentum (SGD momentum or AdamW beta1) of optimizer step <paramref name="step"/> (0-based).</summary>
    public ScheduledValues At(long step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        if (Kind == SchedulerNames.OneCycle)
        {
            return (OneCycle ?? new OneCycleShape()).At(BaseLearningRate, TotalSteps, step);
        }
        if (step < WarmupSteps)
        {
            return new ScheduledValues(BaseLearningRate * (step + 1) / WarmupSteps, null);
        }
        var after = step - WarmupSteps;
        var span = Math.Max(1, TotalSteps - WarmupSteps);
        var progress = Math.Min(1.0, (double)after / span);
        var lr = Kind switch
        {
            SchedulerNames.Constant => BaseLearningRate,
            SchedulerNames.Step => BaseLearningRate * Math.Pow(Gamma, after / Math.Max(1, StepSize)),
            SchedulerNames.MultiStep => BaseLearningRate * Math.Pow(Gamma, (Milestones ?? []).Count(m => step >= m)),
            SchedulerNames.Exponential => BaseLearningRate * Math.Pow(Gamma, (double)after / Math.Max(1, StepsPerEpoch)),
            SchedulerNames.Cosine => MinLearningRate + ((BaseLearningRate - MinLearningRate) * (1 + Math.Cos(Math.PI * progress)) / 2),
            SchedulerNames.Linear => BaseLearningRate + ((MinLearningRate - BaseLearningRate) * progress),
            _ => throw new ArgumentException($"Unknown schedule '{Kind}'; allowed: {string.Join(", ", SchedulerNames.All)}"),
        };
        return new ScheduledValues(lr, null);
    }
}

/// <summary>What the optimizer uses at one step; <see cref="Momentum"/> is null when the schedule leaves momentum alone.</summary>
public readonly record struct ScheduledValues(double LearningRate, double? Momentum);

/// <summary>
/// PyTorch's OneCycleLR with cosine annealing and two phases: from max/<see cref="DivFactor"/> up to the maximum over
/// the first <see cref="PctStart"/> of the steps while momentum falls from <see cref="MaxMomentum"/> to
/// <see cref="BaseMomentum"/>, then down to initial/<see cref="FinalDivFactor"/> while momentum rises back.
/// </summary>
public sealed record OneCycleShape(double PctStart = 0.3, double DivFactor = 25, double FinalDivFactor = 1e4, double BaseMomentum = 0.85, double MaxMomentum = 0.95)
{
    public ScheduledValues At(double maxLearningRate, long totalSteps, long step)
    {
        var initial = maxLearningRate / DivFactor;
        var min = initial / FinalDivFactor;
        // PyTorch: phase ends at float(pct_start * total_steps) - 1 and total_steps - 1.
        var firstEnd = (PctStart * totalSteps) - 1;
        var lastEnd = totalSteps - 1.0;
        var s = Math.Min(step, totalSteps - 1);
        if (s <= firstEnd)
        {
            var pct = firstEnd <= 0 ? 1.0 : s / firstEnd;
            return new ScheduledValues(Anneal(initial, maxLearningRate, pct), Anneal(MaxMomentum, BaseMomentum, pct));
        }
        var rest = (s - firstEnd) / Math.Max(lastEnd - firstEnd, double.Epsilon);
        return new ScheduledValues(Anneal(maxLearningRate, min, rest), Anneal(BaseMomentum, MaxMomentum, rest));
    }

    private static double Anneal(double start, double end, double pct) => end + ((start - end) / 2.0 * (Math.Cos(Math.PI * pct) + 1));
}

/// <summary>Builds a run's schedule from the trainer's flags.</summary>
public static class ScheduleFactory
{
    /// <summary>
    /// The schedule of a run with <paramref name="optimizerStepsPerEpoch"/> optimizer steps per epoch, peaking at
    /// <paramref name="baseLearningRate"/> (--lr, or the LR finder's choice with --lr auto). The default (step, one-epoch
    /// step size, --lr-gamma) is the first format's per-epoch decay, value for value.
    /// </summary>
    public static LearningRateSchedule For(K8sTraining.Training.Options.TrainerOptions options, long optimizerStepsPerEpoch, double baseLearningRate)
    {
        ArgumentNullException.ThrowIfNull(options);
        var perEpoch = Math.Max(1, optimizerStepsPerEpoch);
        var warmup = options.WarmupEpochs is { } epochs ? (long)Math.Round(epochs * perEpoch) : options.WarmupSteps;
        return new LearningRateSchedule(
            options.Scheduler,
            baseLearningRate,
            options.MinLearningRate,
            perEpoch * options.Epochs,
            perEpoch,
            warmup,
            options.LearningRateGamma,
            options.StepSize ?? perEpoch,
            options.Milestones.Select(e => e * perEpoch).ToList(),
            new OneCycleShape(options.OneCyclePctStart, options.OneCycleDivFactor, options.OneCycleFinalDivFactor, options.BaseMomentum, options.MaxMomentum));
    }
}
