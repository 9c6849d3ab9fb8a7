using K8sTraining.Chaos.Processes;
using K8sTraining.Chaos.Runner;

namespace K8sTraining.Chaos.Scenarios;

/// <summary>Helpers the trainer scenarios share: an uninterrupted reference run, environments, a fresh directory.</summary>
public static class TrainerRuns
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(240);

    /// <summary>Test hooks of the trainer (documented in trainer/README.md): a slower step and checkpoint write, math unchanged.</summary>
    public static Dictionary<string, string> Slowed(Dictionary<string, string> env, int stepDelayMs = 8, int checkpointWriteDelayMs = 15)
    {
        env["K8STRAINING_TEST_STEP_DELAY_MS"] = stepDelayMs.ToString(System.Globalization.CultureInfo.InvariantCulture);
        env["K8STRAINING_TEST_CHECKPOINT_WRITE_DELAY_MS"] = checkpointWriteDelayMs.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return env;
    }

    /// <summary>
    /// Runs to the end without interruption and returns the final weights (or those of an earlier scenario's reference of
    /// as many epochs: the step delays, checkpoint interval and store do not change the math); records a violation when
    /// it fails.
    /// </summary>
    public static async Task<byte[]?> ReferenceAsync(ChaosContext context, ScenarioResult result, TrainerFlags flags, IReadOnlyDictionary<string, string> env, CancellationToken cancellationToken)
    {
        if (context.Reference(flags.Epochs) is { } known)
        {
            return known;
        }
        using var trainer = ChaosTrainer.Start(flags.Args(), env);
        var code = await trainer.WaitForExitAsync(Deadline * 2);
        trainer.Keep(context, "reference run", flags.TerminationLog);
        result.Runs++;
        cancellationToken.ThrowIfCancellationRequested();
        if (code != 0 || !File.Exists(flags.Output))
        {
            result.Violation($"the uninterrupted reference run exited {code}:\n{Tail(trainer.Output)}");
            return null;
        }
        var weights = await File.ReadAllBytesAsync(flags.Output, cancellationToken);
        context.KeepReference(flags.Epochs, weights);
        return weights;
    }

    public static string Tail(string text, int lines = 25) => string.Join('\n', text.Split('\n').TakeLast(lines));
}
