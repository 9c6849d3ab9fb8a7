using K8sTraining.Contract;
using K8sTraining.Training.Loop;
using K8sTraining.Training.Schedules;

namespace K8sTraining.Trainer.Tests.Unit.Observers;

/// <summary>Epochs, progress and run infos as a recipe run reports them, for the observer tests.</summary>
public static class ObserverScenario
{
    public const int StepsPerEpoch = 10;

    public static readonly string[] Classes = ["cat", "dog"];

    /// <summary>A finished epoch (0-based) with every recipe field; <paramref name="recipe"/> false: as an old run recorded it.</summary>
    public static EpochMetrics Epoch(int epoch, bool recipe = true, BestCheckpoint? best = null) => new(
        epoch,
        (epoch + 1L) * StepsPerEpoch,
        TrainLoss: 1.0 / (epoch + 1),
        TestAccuracy: null,
        LearningRate: 0.1 / (epoch + 1),
        ValidationAccuracy: 0.5 + (0.1 * epoch),
        ClassAccuracy: [0.25 + (0.1 * epoch), 0.75],
        ClassAccuracySplit: "validation",
        ValidationLoss: recipe ? 1.5 / (epoch + 1) : null,
        TrainAccuracy: recipe ? 0.4 + (0.1 * epoch) : null,
        Momentum: recipe ? 0.9 : null,
        MixingMode: recipe ? (epoch == 0 ? "mixup" : "none") : null,
        WallSeconds: recipe ? 60.0 * (epoch + 1) : null,
        EmaValidationAccuracy: recipe ? 0.55 + (0.1 * epoch) : null,
        Best: best);

    public static TrainingProgress Progress(int epoch, int stepInEpoch, double learningRate = 0.05, double? momentum = 0.9, string mixing = "cutmix") =>
        new(epoch, 5, stepInEpoch, StepsPerEpoch, ((long)epoch * StepsPerEpoch) + stepInEpoch, 5L * StepsPerEpoch, 0.25, learningRate, 100, null, null, momentum, mixing);

    /// <summary>A linear decay from 0.1 over 50 optimizer steps, momentum cycling like OneCycle's (or none).</summary>
    public static ScheduledValues Schedule(long step, bool momentum) => new(0.1 * (1 - (step / 50.0)), momentum ? 0.85 + (0.1 * step / 50.0) : null);

    public static TrainingRunInfo Run(IReadOnlyList<EpochMetrics>? history = null, long? resumedAt = null, bool schedule = true, bool scheduleMomentum = true) => new(
        Classes,
        true,
        [],
        history,
        resumedAt,
        schedule ? s => Schedule(s, scheduleMomentum) : null,
        StepsPerEpoch,
        5);

    public static string TempDirectory()
    {
        var directory = Path.Combine(Path.GetTempPath(), "k8st-observers-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(directory);
        return directory;
    }
}
