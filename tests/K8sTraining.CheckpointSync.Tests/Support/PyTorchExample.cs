using K8sTraining.Contract;

namespace K8sTraining.CheckpointSync.Tests.Support;

/// <summary>examples/pytorch/train.py run by Debian's python3 with python3-torch (scripts/install-deps.sh installs it).</summary>
public static class PyTorchExample
{
    public const string Python = "/usr/bin/python3";

    public static string Script => RepositoryPaths.Of("examples", "pytorch", "train.py");

    /// <summary>
    /// Starts train.py on <paramref name="checkpointDirectory"/> with the contract's variables; <paramref name="stepDelayMs"/>
    /// slows each step so a SIGTERM lands mid-epoch; <paramref name="extra"/> adds variables (a torchrun-style world).
    /// </summary>
    public static ChildProcess Start(string checkpointDirectory, string terminationLog, int stepDelayMs = 0, IReadOnlyDictionary<string, string>? extra = null)
    {
        var env = new Dictionary<string, string>
        {
            [TrainerEnvironment.CheckpointDirectory] = checkpointDirectory,
            [TrainerEnvironment.TerminationLog] = terminationLog,
            [TrainerEnvironment.Epochs] = "3",
            [TrainerEnvironment.Samples] = "2048",
            [TrainerEnvironment.BatchSize] = "32",
            [TrainerEnvironment.CheckpointEverySteps] = "20",
            ["EXAMPLE_STEP_DELAY_MS"] = stepDelayMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["PYTHONUNBUFFERED"] = "1",
        };
        foreach (var (k, v) in extra ?? new Dictionary<string, string>())
        {
            env[k] = v;
        }
        return ChildProcess.Start(Python, [Script], env, dropInherited: k => k.StartsWith("TRAINER_", StringComparison.Ordinal) || k.StartsWith("AWS_", StringComparison.Ordinal)
            || k is "WORLD_SIZE" or "RANK" or "LOCAL_RANK" or "MASTER_ADDR" or "MASTER_PORT");
    }

    public static TerminationMessage ReadTerminationMessage(string path, ChildProcess process) =>
        TerminationMessage.TryParse(File.Exists(path) ? File.ReadAllText(path) : null)
            ?? throw new Xunit.Sdk.XunitException($"train.py left no termination message in {path}\n{process.Output}");
}
