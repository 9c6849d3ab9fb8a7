using System.Diagnostics;
using System.Globalization;
using K8sTraining.Chaos.Processes;
using K8sTraining.Chaos.Runner;
using K8sTraining.Chaos.Storage;
using K8sTraining.Contract;

namespace K8sTraining.Chaos.Scenarios;

/// <summary>
/// §1 of issue 19: one long run of the published trainer (S3 on loopback) interrupted at random moments by SIGTERM and
/// SIGKILL, some timed into a checkpoint write, an S3 upload or a restore, some with the local directory wiped so it
/// restarts from S3 alone. Each attempt writes its periodic checkpoints in the background or synchronously
/// (--checkpoint-write, picked at random: the math is the same). Invariants: the final weights are byte-identical to an
/// uninterrupted run; a SIGTERM loses 0 steps (and its checkpoint is committed); a SIGKILL loses at most the checkpoint
/// interval with sync writes, and at most the interval plus the steps trained during the write in flight with
/// background writes.
/// </summary>
public sealed class InterruptionScenario : IChaosScenario
{
    private const int Interval = 25;

    private static readonly string[] Kinds =
    [
        "sigterm", "sigterm", "sigkill", "sigkill",
        "sigterm-checkpoint", "sigkill-checkpoint",
        "sigterm-upload", "sigkill-upload",
        "sigterm-restore", "sigkill-restore",
    ];

    public string Name => "trainer interruptions";

    /// <summary>The most steps a SIGKILL lost, by --checkpoint-write mode.</summary>
    private Dictionary<string, long> MaxLostHard { get; } = new(StringComparer.Ordinal);

    /// <summary>SIGKILLs that lost more than the interval because the checkpoint at the last boundary was still being written.</summary>
    private int InFlightLosses { get; set; }

    public async Task<ScenarioResult> RunAsync(ChaosContext context, CancellationToken cancellationToken)
    {
        var result = new ScenarioResult(Name);
        var profile = context.Profile;
        await using var s3 = await ChaosS3.StartAsync(context.NewDirectory("s3-interruptions"), cancellationToken);
        Dictionary<string, string> Env(int attempt)
        {
            var env = TrainerRuns.Slowed(ChaosS3.Environment(s3.EndpointUrl, context.Secret));
            env[TrainerEnvironment.JobUid] = "chaos-interruptions";
            env[TrainerEnvironment.Attempt] = attempt.ToString(CultureInfo.InvariantCulture);
            return env;
        }

        var reference = new TrainerFlags(context.NewDirectory("interruptions-reference"), profile.InterruptionEpochs, Interval, $"s3://{ChaosS3.Bucket}/reference");
        var expected = await TrainerRuns.ReferenceAsync(context, result, reference, Env(1), cancellationToken);
        if (expected is null)
        {
            return result;
        }

        var prefix = "interrupted";
        var flags = new TrainerFlags(context.NewDirectory("interruptions-run"), profile.InterruptionEpochs, Interval, $"s3://{ChaosS3.Bucket}/{prefix}");
        var deadline = context.DeadlineAt(profile.InterruptionShare);
        var pending = new List<Pending>();
        var lastWasGraceful = true;
        long reached = 0;
        var attempt = 0;
        var kindCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        var finished = false;
        while (result.Interruptions < profile.Interruptions && DateTime.UtcNow < deadline && !finished)
        {
            cancellationToken.ThrowIfCancellationRequested();
            attempt++;
            var kind = context.Pick(Kinds);
            var restoreKind = kind.EndsWith("-restore", StringComparison.Ordinal);
            // A wipe after a SIGKILL would lose the checkpoints not yet uploaded: more than the interval, by design.
            var remoteExists = File.Exists(s3.ObjectPath($"{prefix}/{CheckpointLayout.LatestFileName}"));
            if (restoreKind && !(lastWasGraceful && remoteExists))
            {
                kind = kind.Replace("-restore", "", StringComparison.Ordinal);
                restoreKind = false;
            }
            var write = context.Pick(CheckpointWriteModes.All);
            var wipe = restoreKind || (lastWasGraceful && remoteExists && context.Chance(0.25));
            var advance = context.Pick(3, 30);
            var signalDelayMs = context.Pick(0, 40);
            if (wipe && Directory.Exists(flags.CheckpointDirectory))
            {
                Directory.Delete(flags.CheckpointDirectory, recursive: true);
            }
            File.Delete(flags.TerminationLog);

            using var trainer = ChaosTrainer.Start(flags.Args("--checkpoint-write", write), Env(attempt));
            result.Runs++;
            bool landed;
            if (restoreKind)
            {
                landed = await trainer.WaitUntilAsync(t => t.RestoresStarted > 0, TrainerRuns.Deadline, cancellationToken);
            }
            else
            {
                // Wait for the resume point first so this attempt's step target is counted from where it resumed.
                await trainer.WaitUntilAsync(t => t.FirstStepTicks != 0, TrainerRuns.Deadline, cancellationToken);
                var from = Math.Max(trainer.ResumedAt, 0);
                var target = from + advance;
                if (kind.EndsWith("-checkpoint", StringComparison.Ordinal))
                {
                    target = (target / Interval + 1) * Interval;
                }
                landed = await trainer.WaitUntilAsync(t => t.LastStep >= target, TrainerRuns.Deadline, cancellationToken);
                if (landed && kind.EndsWith("-upload", StringComparison.Ordinal))
                {
                    var queued = trainer.UploadsQueued;
                    landed = await trainer.WaitUntilAsync(t => t.UploadsQueued > queued, TrainerRuns.Deadline, cancellationToken);
                }
            }
            Resolve(trainer, pending, result);
            if (!landed || trainer.HasExited)
            {
                // The run ended (or stalled) before the moment came: it is either complete or a violation.
                var code = await trainer.WaitForExitAsync(TrainerRuns.Deadline);
                trainer.Keep(context, $"attempt {attempt}", flags.TerminationLog);
                if (code == TrainerExitCodes.Completed)
                {
                    finished = true;
                    result.Notes.Add($"the run completed at attempt {attempt} before the interruption target ({result.Interruptions} interruptions)");
                    break;
                }
                result.Violation($"attempt {attempt} ({kind}) exited {code} before its interruption moment:\n{TrainerRuns.Tail(trainer.Output)}");
                return result;
            }
            if (signalDelayMs > 0 && kind != "sigterm" && kind != "sigkill")
            {
                await Task.Delay(signalDelayMs, cancellationToken);
            }
            var graceful = kind.StartsWith("sigterm", StringComparison.Ordinal);
            var signalled = Stopwatch.GetTimestamp();
            if (graceful)
            {
                trainer.Sigterm();
            }
            else
            {
                trainer.Sigkill();
            }
            var exit = await trainer.WaitForExitAsync(TrainerRuns.Deadline);
            trainer.Keep(context, $"attempt {attempt}", flags.TerminationLog);
            result.Interruptions++;
            kindCounts[kind] = kindCounts.GetValueOrDefault(kind) + 1;
            // Killed before it knew where it stood (mid-restore): it reached what the attempt before it had.
            var own = Math.Max(trainer.LastStep, trainer.ResumedAt);
            var processReached = own >= 0 ? own : reached;
            reached = processReached;
            if (graceful)
            {
                CheckGraceful(attempt, kind, exit, trainer, flags, processReached, result);
            }
            lastWasGraceful = graceful;
            pending.Add(new Pending(attempt, kind, write, graceful, processReached, signalled));
        }

        // The last attempt runs to the end: it resolves the pending interruption and must end byte-identical.
        if (!finished)
        {
            attempt++;
            File.Delete(flags.TerminationLog);
            using var last = ChaosTrainer.Start(flags.Args(), Env(attempt));
            result.Runs++;
            await last.WaitUntilAsync(t => t.FirstStepTicks != 0, TrainerRuns.Deadline, cancellationToken);
            Resolve(last, pending, result);
            var code = await last.WaitForExitAsync(TrainerRuns.Deadline * 2);
            last.Keep(context, $"attempt {attempt} (final)", flags.TerminationLog);
            if (code != TrainerExitCodes.Completed)
            {
                result.Violation($"the final attempt {attempt} exited {code}:\n{TrainerRuns.Tail(last.Output)}");
                return result;
            }
        }
        var weights = File.Exists(flags.Output) ? await File.ReadAllBytesAsync(flags.Output, cancellationToken) : [];
        if (!weights.AsSpan().SequenceEqual(expected))
        {
            result.Violation($"the final weights ({weights.Length} bytes) differ from the uninterrupted run's ({expected.Length} bytes) after {result.Interruptions} interruptions");
        }
        foreach (var problem in BucketAudit.Check(s3, prefix))
        {
            result.Violation(problem);
        }
        result.Notes.Add("most steps lost by a SIGKILL, by checkpoint write mode: " + string.Join(", ", MaxLostHard.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Key} {k.Value}")) + $" (interval {Interval})");
        result.Notes.Add($"{InFlightLosses} SIGKILL(s) with background writes lost the interval plus the steps trained while that boundary's checkpoint was still being written in the background");
        result.Notes.Add("interruptions by kind: " + string.Join(", ", kindCounts.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Key} {k.Value}")));
        if (result.Interruptions < profile.Interruptions)
        {
            result.Notes.Add($"{result.Interruptions} of the {profile.Interruptions} interruptions planned fitted in the time share");
        }
        return result;
    }

    private static void CheckGraceful(int attempt, string kind, int exit, ChaosTrainer trainer, TrainerFlags flags, long reached, ScenarioResult result)
    {
        if (exit != TrainerExitCodes.Interrupted)
        {
            result.Violation($"attempt {attempt} ({kind}): SIGTERM gave exit {exit}, not {TrainerExitCodes.Interrupted}:\n{TrainerRuns.Tail(trainer.Output)}");
            return;
        }
        var report = ChaosTrainer.ReadTermination(flags.TerminationLog);
        if (report is null)
        {
            result.Violation($"attempt {attempt} ({kind}): no termination message after SIGTERM");
            return;
        }
        if (report.Status != TerminationStatuses.Preempted || report.GlobalStep < reached)
        {
            result.Violation($"attempt {attempt} ({kind}): termination message {report.ToJsonLine()} after reaching step {reached}");
        }
        if (report.CheckpointUploaded != true)
        {
            result.Violation($"attempt {attempt} ({kind}): the SIGTERM checkpoint was not committed to S3 (storage was healthy): {report.ToJsonLine()}");
        }
    }

    /// <summary>Once an attempt knows where it resumed, every interruption before it gets its lost steps and recovery time.</summary>
    private void Resolve(ChaosTrainer trainer, List<Pending> pending, ScenarioResult result)
    {
        if (pending.Count == 0 || (trainer.ResumedAt < 0 && trainer.FirstStepTicks == 0))
        {
            return;
        }
        var resumed = Math.Max(trainer.ResumedAt, 0);
        foreach (var p in pending)
        {
            var lost = Math.Max(0, p.Reached - resumed);
            if (p.Graceful)
            {
                result.LostGraceful.Add(lost);
                if (lost != 0)
                {
                    result.Violation($"attempt {p.Attempt} ({p.Kind}) reached step {p.Reached} but the next attempt resumed at {resumed}: {lost} steps lost after a SIGTERM");
                }
            }
            else
            {
                result.LostHard.Add(lost);
                MaxLostHard[p.Write] = Math.Max(MaxLostHard.GetValueOrDefault(p.Write), lost);
                var lastBoundary = p.Reached / Interval * Interval;
                if (p.Write == CheckpointWriteModes.Sync && lost > Interval)
                {
                    result.Violation($"attempt {p.Attempt} ({p.Kind}, sync checkpoint writes) reached step {p.Reached} but the next attempt resumed at {resumed}: {lost} steps lost after a SIGKILL, more than the interval {Interval}");
                }
                // Background writes (CheckpointWriter): a SIGKILL while step N's write is in flight loses that checkpoint
                // too, so the bound is the interval plus the steps trained during the write; never more than one
                // checkpoint (the resume is at least the boundary before the last one).
                else if (lost > Interval && resumed < lastBoundary - Interval)
                {
                    result.Violation($"attempt {p.Attempt} ({p.Kind}) reached step {p.Reached} but the next attempt resumed at {resumed}: {lost} steps lost after a SIGKILL, more than the interval {Interval} plus the checkpoint write in flight");
                }
                else if (lost > Interval)
                {
                    InFlightLosses++;
                }
            }
        }
        if (trainer.FirstStepTicks != 0)
        {
            result.RecoverySeconds.Add(Stopwatch.GetElapsedTime(pending[0].SignalledAt, trainer.FirstStepTicks).TotalSeconds);
        }
        pending.Clear();
    }

    private sealed record Pending(int Attempt, string Kind, string Write, bool Graceful, long Reached, long SignalledAt);
}
