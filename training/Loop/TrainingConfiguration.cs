using K8sTraining.Contract;
using K8sTraining.Training.Options;

namespace K8sTraining.Training.Loop;

/// <summary>The settings that decide the math of a run; a checkpoint resumes only under the same ones.</summary>
public sealed record TrainingConfiguration(
    string Model,
    string Dataset,
    int Samples,
    long Seed,
    int BatchSize,
    string Optimizer,
    double LearningRate,
    double LearningRateGamma)
{
    public static TrainingConfiguration From(TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new TrainingConfiguration(
            options.Model,
            options.Dataset,
            options.Dataset == DatasetNames.Synthetic ? options.Samples : 0,
            options.Seed,
            options.BatchSize,
            options.Optimizer,
            options.LearningRate,
            options.LearningRateGamma);
    }

    /// <summary>The first field (as its flag) whose value differs from <paramref name="saved"/>, or null.</summary>
    public (string Flag, string Saved, string Requested)? FirstDifference(TrainingConfiguration saved)
    {
        ArgumentNullException.ThrowIfNull(saved);
        (string, object, object)[] fields =
        [
            ("--model", saved.Model, Model),
            ("--dataset", saved.Dataset, Dataset),
            ("--samples", saved.Samples, Samples),
            ("--seed", saved.Seed, Seed),
            ("--batch-size", saved.BatchSize, BatchSize),
            ("--optimizer", saved.Optimizer, Optimizer),
            ("--lr", saved.LearningRate, LearningRate),
            ("--lr-gamma", saved.LearningRateGamma, LearningRateGamma),
        ];
        foreach (var (flag, before, now) in fields)
        {
            if (!before.Equals(now))
            {
                return (flag, Convert.ToString(before, System.Globalization.CultureInfo.InvariantCulture)!, Convert.ToString(now, System.Globalization.CultureInfo.InvariantCulture)!);
            }
        }
        return null;
    }
}

/// <summary>The checkpoint found was trained under another configuration; resuming would silently change the run.</summary>
public sealed class ConfigurationMismatchException(string message) : Exception(message);
