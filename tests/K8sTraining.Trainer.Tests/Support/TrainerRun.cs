using System.Globalization;
using System.Text.RegularExpressions;
using K8sTraining.Contract;
using K8sTraining.Training.Hosting;

namespace K8sTraining.Trainer.Tests.Support;

/// <summary>A scratch directory and the flags of one small, deterministic synthetic run (mlp, 2 epochs, 256 steps).</summary>
public sealed partial class TrainerRun : IDisposable
{
    public const int TotalSteps = 256;
    public const int CheckpointEvery = 25;

    public TrainerRun()
    {
        Directory = Path.Combine(Path.GetTempPath(), "k8st-trainer-tests", Guid.NewGuid().ToString("N")[..10]);
        System.IO.Directory.CreateDirectory(Directory);
    }

    public string Directory { get; }

    public string CheckpointDirectory => Path.Combine(Directory, "checkpoints");

    public string Output => Path.Combine(Directory, "weights.bin");

    public string TerminationLogPath => Path.Combine(Directory, "termination-log");

    public IReadOnlyList<string> Args(params string[] overrides)
    {
        var flags = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["--model"] = "mlp",
            ["--dataset"] = "synthetic",
            ["--samples"] = "2048",
            ["--epochs"] = "2",
            ["--batch-size"] = "16",
            ["--optimizer"] = "adamw",
            ["--seed"] = "42",
            ["--threads"] = "1",
            ["--checkpoint-dir"] = CheckpointDirectory,
            ["--checkpoint-every-steps"] = CheckpointEvery.ToString(CultureInfo.InvariantCulture),
            ["--keep-checkpoints"] = "3",
            ["--output"] = Output,
            ["--termination-log"] = TerminationLogPath,
            ["--log-every-steps"] = "1",
            ["--progress"] = "log",
        };
        for (var i = 0; i + 1 < overrides.Length; i += 2)
        {
            flags[overrides[i]] = overrides[i + 1];
        }
        return flags.SelectMany(kv => new[] { kv.Key, kv.Value }).ToList();
    }

    public TerminationMessage ReadTerminationReport() =>
        TerminationMessage.Parse(File.ReadAllText(TerminationLogPath).Trim()) ?? throw new InvalidDataException("empty termination log");

    public IReadOnlyList<long> CommittedSteps() =>
        System.IO.Directory.Exists(CheckpointDirectory)
            ? System.IO.Directory.GetDirectories(CheckpointDirectory, "step-*")
                .Select(Path.GetFileName)
                .Where(n => n!.Length == 17)
                .Select(n => long.Parse(n!.AsSpan(5), CultureInfo.InvariantCulture))
                .Order()
                .ToList()
            : [];

    public static long? ResumedGlobalStep(string stdout)
    {
        var m = ResumePattern().Match(stdout);
        return m.Success ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [GeneratedRegex(@"Resuming at epoch \d+, step \d+ of epoch \(global step (\d+)\)")]
    private static partial Regex ResumePattern();
}
