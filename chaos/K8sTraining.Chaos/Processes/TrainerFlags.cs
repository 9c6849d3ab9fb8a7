using System.Globalization;

namespace K8sTraining.Chaos.Processes;

/// <summary>The small deterministic run every scenario trains: an MLP on synthetic data, 128 steps an epoch.</summary>
public sealed record TrainerFlags(string Directory, int Epochs, int CheckpointEvery = 25, string? CheckpointUri = null)
{
    public const int StepsPerEpoch = 128;

    public string CheckpointDirectory => Path.Combine(Directory, "checkpoints");

    public string Output => Path.Combine(Directory, "weights.bin");

    public string TerminationLog => Path.Combine(Directory, "termination-log");

    public long TotalSteps => (long)Epochs * StepsPerEpoch;

    public IReadOnlyList<string> Args(params string[] overrides)
    {
        var flags = new List<(string, string)>
        {
            ("--model", "mlp"),
            ("--dataset", "synthetic"),
            ("--samples", "2048"),
            ("--epochs", Epochs.ToString(CultureInfo.InvariantCulture)),
            ("--batch-size", "16"),
            ("--optimizer", "adamw"),
            ("--seed", "42"),
            ("--threads", "1"),
            ("--checkpoint-dir", CheckpointDirectory),
            ("--checkpoint-every-steps", CheckpointEvery.ToString(CultureInfo.InvariantCulture)),
            ("--keep-checkpoints", "3"),
            ("--output", Output),
            ("--termination-log", TerminationLog),
            ("--log-every-steps", "1"),
            ("--progress", "log"),
        };
        if (CheckpointUri is not null)
        {
            flags.Add(("--checkpoint-uri", CheckpointUri));
        }
        var dict = flags.ToDictionary(f => f.Item1, f => f.Item2, StringComparer.Ordinal);
        var order = flags.Select(f => f.Item1).ToList();
        for (var i = 0; i + 1 < overrides.Length; i += 2)
        {
            if (!dict.ContainsKey(overrides[i]))
            {
                order.Add(overrides[i]);
            }
            dict[overrides[i]] = overrides[i + 1];
        }
        return order.SelectMany(k => new[] { k, dict[k] }).ToList();
    }
}
