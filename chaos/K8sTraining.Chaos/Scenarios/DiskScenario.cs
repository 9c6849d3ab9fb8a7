using K8sTraining.Chaos.Processes;
using K8sTraining.Chaos.Runner;
using K8sTraining.Chaos.Storage;
using K8sTraining.Contract;

namespace K8sTraining.Chaos.Scenarios;

/// <summary>
/// §1 of issue 19, disk trouble: a checkpoint directory on a tmpfs too small for the run (ENOSPC), and one remounted
/// read-only under existing checkpoints. Invariants: a clear error (no stack trace), every checkpoint under its final
/// name still verifies, and a resume from them (space back, or writable again) ends byte-identical to an uninterrupted run.
/// </summary>
public sealed class DiskScenario : IChaosScenario
{
    private const int Epochs = 2;

    public string Name => "disk trouble";

    public async Task<ScenarioResult> RunAsync(ChaosContext context, CancellationToken cancellationToken)
    {
        var result = new ScenarioResult(Name);
        var env = TrainerRuns.Slowed([], stepDelayMs: 5, checkpointWriteDelayMs: 0);
        var reference = new TrainerFlags(context.NewDirectory("disk-reference"), Epochs);
        var expected = await TrainerRuns.ReferenceAsync(context, result, reference, env, cancellationToken);
        if (expected is null)
        {
            return result;
        }
        await FullDiskAsync(context, result, env, expected, cancellationToken);
        await ReadOnlyAsync(context, result, env, expected, cancellationToken);
        return result;
    }

    private static async Task FullDiskAsync(ChaosContext context, ScenarioResult result, Dictionary<string, string> env, byte[] expected, CancellationToken cancellationToken)
    {
        var root = context.NewDirectory("disk-full");
        var (mount, refused) = TmpfsMount.TryMount(root, "6m");
        if (mount is null)
        {
            result.Notes.Add($"ENOSPC not exercised: {refused}");
            return;
        }
        using (mount)
        {
            result.Notes.Add("ENOSPC: a real 6 MiB tmpfs (mount -t tmpfs), not a write shim");
            var flags = new TrainerFlags(root, Epochs) ;
            var checkpoints = Path.Combine(mount.Path, "checkpoints");
            using var trainer = ChaosTrainer.Start(flags.Args("--checkpoint-dir", checkpoints, "--keep-checkpoints", "5"), env);
            var code = await trainer.WaitForExitAsync(TrainerRuns.Deadline);
            trainer.Keep(context, "disk-full run", flags.TerminationLog);
            result.Runs++;
            result.Interruptions++;
            var output = trainer.Output;
            if (code != TrainerExitCodes.Failed || !output.Contains("No space left on device", StringComparison.Ordinal))
            {
                result.Violation($"a full disk gave exit {code} without a clear 'No space left on device':\n{TrainerRuns.Tail(output)}");
            }
            if (ChaosTrainer.HasStackTrace(output))
            {
                result.Violation($"a full disk logged a stack trace instead of its one-line 'Disk full' message:\n{TrainerRuns.Tail(output)}");
            }
            var kept = LocalAudit.Checkpoints(checkpoints);
            if (kept.Count == 0 || kept.Any(k => k.Problem is not null))
            {
                result.Violation($"after the full disk the checkpoints are: {LocalAudit.Describe(kept)}");
                return;
            }
            var report = ChaosTrainer.ReadTermination(flags.TerminationLog);
            if (report?.Checkpoint != Path.Combine(checkpoints, CheckpointLayout.DirectoryName(kept[^1].Step)))
            {
                result.Violation($"the termination message names {report?.Checkpoint}, the newest valid checkpoint is step {kept[^1].Step}");
            }
            // Space back (the pod's next node): the kept checkpoints resume to the same bytes.
            var resumed = Path.Combine(root, "resumed");
            LocalAudit.CopyDirectory(checkpoints, resumed);
            await ResumeToEndAsync(context, result, flags, resumed, env, expected, kept[^1].Step, "after ENOSPC");
        }
    }

    private static async Task ReadOnlyAsync(ChaosContext context, ScenarioResult result, Dictionary<string, string> env, byte[] expected, CancellationToken cancellationToken)
    {
        var root = context.NewDirectory("disk-readonly");
        var (mount, refused) = TmpfsMount.TryMount(root, "32m");
        if (mount is null)
        {
            result.Notes.Add($"read-only directory not exercised: {refused}");
            return;
        }
        using (mount)
        {
            var flags = new TrainerFlags(root, Epochs);
            var checkpoints = Path.Combine(mount.Path, "checkpoints");
            var stopAt = context.Pick(30, 120);
            using (var first = ChaosTrainer.Start(flags.Args("--checkpoint-dir", checkpoints), env))
            {
                await first.WaitUntilAsync(t => t.LastStep >= stopAt, TrainerRuns.Deadline, cancellationToken);
                first.Sigterm();
                await first.WaitForExitAsync(TrainerRuns.Deadline);
                first.Keep(context, "read-only setup run", flags.TerminationLog);
                result.Runs++;
            }
            var before = LocalAudit.Checkpoints(checkpoints);
            if (mount.Remount(readOnly: true) is { } problem)
            {
                result.Notes.Add($"read-only directory not exercised: {problem}");
                return;
            }
            File.Delete(flags.TerminationLog);
            using (var trainer = ChaosTrainer.Start(flags.Args("--checkpoint-dir", checkpoints), env))
            {
                var code = await trainer.WaitForExitAsync(TrainerRuns.Deadline);
                trainer.Keep(context, "read-only run", flags.TerminationLog);
                result.Runs++;
                result.Interruptions++;
                var report = ChaosTrainer.ReadTermination(flags.TerminationLog);
                if (code != TrainerExitCodes.InvalidConfiguration || report?.Message?.Contains(checkpoints, StringComparison.Ordinal) != true)
                {
                    result.Violation($"a read-only checkpoint directory gave exit {code}, message {report?.Message}:\n{TrainerRuns.Tail(trainer.Output)}");
                }
                if (ChaosTrainer.HasStackTrace(trainer.Output))
                {
                    result.Violation($"a read-only checkpoint directory printed a stack trace:\n{TrainerRuns.Tail(trainer.Output, 60)}");
                }
            }
            var after = LocalAudit.Checkpoints(checkpoints);
            if (!before.SequenceEqual(after) || after.Count == 0 || after.Any(a => a.Problem is not null))
            {
                result.Violation($"read-only: checkpoints before {LocalAudit.Describe(before)}, after {LocalAudit.Describe(after)}");
                return;
            }
            mount.Remount(readOnly: false);
            await ResumeToEndAsync(context, result, flags, checkpoints, env, expected, after[^1].Step, "after the read-only directory");
        }
    }

    private static async Task ResumeToEndAsync(ChaosContext context, ScenarioResult result, TrainerFlags flags, string checkpoints, Dictionary<string, string> env, byte[] expected, long step, string what)
    {
        File.Delete(flags.TerminationLog);
        using var trainer = ChaosTrainer.Start(flags.Args("--checkpoint-dir", checkpoints), env);
        var code = await trainer.WaitForExitAsync(TrainerRuns.Deadline);
        trainer.Keep(context, $"resume {what}", flags.TerminationLog);
        result.Runs++;
        if (code != TrainerExitCodes.Completed || trainer.ResumedAt != step)
        {
            result.Violation($"the resume {what} exited {code}, resumed at {trainer.ResumedAt} (newest valid checkpoint {step}):\n{TrainerRuns.Tail(trainer.Output)}");
            return;
        }
        if (!(await File.ReadAllBytesAsync(flags.Output)).AsSpan().SequenceEqual(expected))
        {
            result.Violation($"the resume {what} ended with weights other than the uninterrupted run's");
        }
    }
}
