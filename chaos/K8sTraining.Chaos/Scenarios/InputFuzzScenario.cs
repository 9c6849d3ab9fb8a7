using System.Globalization;
using K8sTraining.Chaos.Processes;
using K8sTraining.Chaos.Runner;
using K8sTraining.Chaos.Storage;
using K8sTraining.Contract;

namespace K8sTraining.Chaos.Scenarios;

/// <summary>
/// §3 of issue 19, the trainer's inputs at volume: random flag values, TRAINER_* environment values, damaged local
/// checkpoint files and manifests, and a damaged latest.json or checkpoint object in S3. Invariant: exit 2 with a
/// message, or a run that falls back to the previous valid checkpoint and ends byte-identical to an uninterrupted run;
/// never any other exit, never a stack trace.
/// </summary>
public sealed class InputFuzzScenario : IChaosScenario
{
    private const int Interval = 8;

    private static readonly string[] FlagNames =
    [
        "--model", "--dataset", "--samples", "--epochs", "--batch-size", "--optimizer", "--lr", "--seed", "--threads",
        "--checkpoint-every-steps", "--keep-checkpoints", "--checkpoint-uri", "--metrics-port", "--log-every-steps",
        "--progress", "--shutdown-timeout-seconds", "--scheduler", "--warmup-steps", "--weight-decay", "--grad-clip-norm",
        "--label-smoothing", "--ema-decay", "--mixup-alpha", "--val-fraction", "--deadline", "--stages", "--milestones",
        "--best-metric", "--class-weights", "--image-size", "--num-classes", "--loss", "--init-checkpoint", "--no-such-flag",
    ];

    private static readonly string[] BadValues =
    [
        "", " ", "-1", "0", "abc", "NaN", "Infinity", "1e400", "99999999999999999999", "0x1F", "\u2603", "-", "--epochs",
        "1;rm -rf /", "null", "{}", "s3://", "s3://bucket", "2.5", "-0", "1,2", "../../etc/passwd", new string('x', 5000),
    ];

    private static readonly string[] LocalDamages =
    [
        "truncate", "flip", "delete-file", "delete-manifest", "garbage-manifest", "empty-manifest", "manifest-no-files",
        "manifest-directory", "rename-step",
    ];

    private static readonly string[] RemoteDamages =
    [
        "latest-garbage", "latest-empty", "latest-braces", "latest-missing-step", "latest-truncated", "latest-bad-name",
        "object-flip", "manifest-garbage",
    ];

    public string Name => "trainer input fuzz";

    public async Task<ScenarioResult> RunAsync(ChaosContext context, CancellationToken cancellationToken)
    {
        var result = new ScenarioResult(Name);
        await using var s3 = await ChaosS3.StartAsync(context.NewDirectory("s3-fuzz"), cancellationToken);
        var s3Env = ChaosS3.Environment(s3.EndpointUrl, context.Secret);
        var reference = new TrainerFlags(context.NewDirectory("fuzz-reference"), 1, Interval);
        var expected = await TrainerRuns.ReferenceAsync(context, result, reference, new Dictionary<string, string>(), cancellationToken);
        if (expected is null)
        {
            return result;
        }

        // The checkpoints every damage starts from: a run stopped part-way, locally and in S3.
        var basePrefix = "fuzz-base";
        var baseFlags = new TrainerFlags(context.NewDirectory("fuzz-base"), 1, Interval, $"s3://{ChaosS3.Bucket}/{basePrefix}");
        var stopAt = context.Pick(40, 90);
        using (var setup = ChaosTrainer.Start(baseFlags.Args(), TrainerRuns.Slowed(new Dictionary<string, string>(s3Env), checkpointWriteDelayMs: 0)))
        {
            await setup.WaitUntilAsync(t => t.LastStep >= stopAt, TrainerRuns.Deadline, cancellationToken);
            setup.Sigterm();
            var code = await setup.WaitForExitAsync(TrainerRuns.Deadline);
            setup.Keep(context, "fuzz setup run", baseFlags.TerminationLog);
            result.Runs++;
            if (code != TrainerExitCodes.Interrupted)
            {
                result.Violation($"the fuzz setup run exited {code}:\n{TrainerRuns.Tail(setup.Output)}");
                return result;
            }
        }

        var deadline = context.DeadlineAt(context.Profile.TrainerShare);
        var kinds = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < context.Profile.FuzzCases && (i < context.Profile.FuzzMinimum || DateTime.UtcNow < deadline); i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var dir = context.NewDirectory($"fuzz-{i}");
            var kind = (i % 4) switch { 0 => "flag", 1 => "env", 2 => "local", _ => "remote" };
            kinds[kind] = kinds.GetValueOrDefault(kind) + 1;
            var flags = new TrainerFlags(dir, 1, Interval);
            IReadOnlyList<string> args = flags.Args();
            var env = new Dictionary<string, string>();
            string description;
            switch (kind)
            {
                case "flag":
                {
                    var flag = context.Pick(FlagNames);
                    var value = context.Pick(BadValues);
                    args = flags.Args(flag, value);
                    description = $"flag {flag} '{Short(value)}'";
                    break;
                }
                case "env":
                {
                    var variable = context.Pick(TrainerEnvironment.All);
                    var value = context.Pick(BadValues);
                    env[variable] = value;
                    description = $"environment {variable}='{Short(value)}'";
                    break;
                }
                case "local":
                {
                    LocalAudit.CopyDirectory(baseFlags.CheckpointDirectory, flags.CheckpointDirectory);
                    var damage = context.Pick(LocalDamages);
                    description = $"local checkpoint damage {damage}: {DamageLocal(context, flags.CheckpointDirectory, damage)}";
                    break;
                }
                default:
                {
                    var prefix = $"fuzz-case-{i}";
                    LocalAudit.CopyDirectory(Path.Combine(s3.BucketDirectory, basePrefix), Path.Combine(s3.BucketDirectory, prefix));
                    var damage = context.Pick(RemoteDamages);
                    description = $"S3 damage {damage}: {DamageRemote(context, s3, prefix, damage)}";
                    flags = flags with { CheckpointUri = $"s3://{ChaosS3.Bucket}/{prefix}" };
                    args = flags.Args();
                    foreach (var (k, v) in s3Env)
                    {
                        env[k] = v;
                    }
                    break;
                }
            }
            await RunCaseAsync(context, result, i, description, flags, args, env, expected);
        }
        result.Notes.Add("fuzz cases: " + string.Join(", ", kinds.Select(k => $"{k.Key} {k.Value}")));
        return result;
    }

    private static async Task RunCaseAsync(ChaosContext context, ScenarioResult result, int index, string description, TrainerFlags flags, IReadOnlyList<string> args, Dictionary<string, string> env, byte[] expected)
    {
        using var trainer = ChaosTrainer.Start(args, env, flags.Directory);
        var code = await trainer.WaitForExitAsync(TrainerRuns.Deadline);
        trainer.Keep(context, $"fuzz case {index}", flags.TerminationLog);
        result.Runs++;
        result.Interruptions++;
        var output = trainer.Output;
        var label = $"fuzz case {index} ({description})";
        if (ChaosTrainer.HasStackTrace(output))
        {
            result.Violation($"{label}: a stack trace for a user error:\n{TrainerRuns.Tail(output, 40)}");
        }
        if (code == TrainerExitCodes.InvalidConfiguration)
        {
            var report = ChaosTrainer.ReadTermination(flags.TerminationLog);
            if (string.IsNullOrWhiteSpace(report?.Message) && !output.Contains("--", StringComparison.Ordinal))
            {
                result.Violation($"{label}: exit 2 without a message");
            }
            return;
        }
        if (code != TrainerExitCodes.Completed)
        {
            result.Violation($"{label}: exit {code}, neither 2 (a clear error) nor 0 (a fallback):\n{TrainerRuns.Tail(output)}");
            return;
        }
        // A run that went on must have used only valid checkpoints: the same bytes as the uninterrupted run (unless the
        // fuzzed value legitimately changed the training, as a valid flag value may).
        var weights = File.Exists(flags.Output) ? await File.ReadAllBytesAsync(flags.Output) : [];
        var mathUnchanged = !description.StartsWith("flag", StringComparison.Ordinal) && !description.StartsWith("environment", StringComparison.Ordinal);
        if (mathUnchanged && !weights.AsSpan().SequenceEqual(expected))
        {
            result.Violation($"{label}: exit 0 but the weights differ from the uninterrupted run's (a damaged checkpoint was used):\n{TrainerRuns.Tail(output)}");
        }
    }

    private static string DamageLocal(ChaosContext context, string checkpoints, string damage)
    {
        var dirs = Directory.GetDirectories(checkpoints, CheckpointLayout.DirectorySearchPattern).Order(StringComparer.Ordinal).ToList();
        var target = dirs[^1];
        var files = Directory.GetFiles(target).Where(f => Path.GetFileName(f) != CheckpointLayout.ManifestFileName).Order(StringComparer.Ordinal).ToList();
        var manifest = Path.Combine(target, CheckpointLayout.ManifestFileName);
        var name = Path.GetFileName(target);
        switch (damage)
        {
            case "truncate":
            {
                var f = context.Pick(files);
                var length = new FileInfo(f).Length;
                using (var s = File.OpenWrite(f))
                {
                    s.SetLength(length == 0 ? 0 : context.Random.NextInt64(0, length));
                }
                return $"{name}/{Path.GetFileName(f)} truncated";
            }
            case "flip":
            {
                var f = context.Pick(files);
                var bytes = File.ReadAllBytes(f);
                if (bytes.Length > 0)
                {
                    bytes[context.Pick(0, bytes.Length)] ^= 0x5A;
                }
                File.WriteAllBytes(f, bytes);
                return $"{name}/{Path.GetFileName(f)} one byte flipped";
            }
            case "delete-file":
            {
                var f = context.Pick(files);
                File.Delete(f);
                return $"{name}/{Path.GetFileName(f)} deleted";
            }
            case "delete-manifest":
                File.Delete(manifest);
                return $"{name}/manifest.json deleted";
            case "garbage-manifest":
            {
                var bytes = new byte[context.Pick(1, 300)];
                context.Random.NextBytes(bytes);
                File.WriteAllBytes(manifest, bytes);
                return $"{name}/manifest.json random bytes";
            }
            case "empty-manifest":
                File.WriteAllText(manifest, "");
                return $"{name}/manifest.json empty";
            case "manifest-no-files":
                File.WriteAllText(manifest, "{\"formatVersion\":1,\"globalStep\":1,\"epoch\":0,\"stepInEpoch\":1,\"createdAt\":\"2026-01-01T00:00:00Z\",\"files\":[]}");
                return $"{name}/manifest.json lists no files";
            case "manifest-directory":
                File.Delete(manifest);
                Directory.CreateDirectory(manifest);
                return $"{name}/manifest.json is a directory";
            default:
            {
                var renamed = Path.Combine(checkpoints, CheckpointLayout.DirectoryName(999_999));
                Directory.Move(target, renamed);
                return $"{name} renamed to {Path.GetFileName(renamed)}";
            }
        }
    }

    private static string DamageRemote(ChaosContext context, ChaosS3 s3, string prefix, string damage)
    {
        var latest = s3.ObjectPath($"{prefix}/{CheckpointLayout.LatestFileName}");
        var newest = Directory.GetDirectories(Path.Combine(s3.BucketDirectory, prefix), CheckpointLayout.DirectorySearchPattern).Order(StringComparer.Ordinal).Last();
        switch (damage)
        {
            case "latest-garbage":
            {
                var bytes = new byte[context.Pick(1, 300)];
                context.Random.NextBytes(bytes);
                File.WriteAllBytes(latest, bytes);
                return "latest.json random bytes";
            }
            case "latest-empty":
                File.WriteAllText(latest, "");
                return "latest.json empty";
            case "latest-braces":
                File.WriteAllText(latest, "{}");
                return "latest.json {}";
            case "latest-missing-step":
                File.WriteAllText(latest, "{\"checkpoint\":\"step-000000000120\",\"globalStep\":120,\"retained\":[\"step-000000000120\"]}");
                return "latest.json names a checkpoint that is not there";
            case "latest-truncated":
            {
                var text = File.ReadAllText(latest);
                File.WriteAllText(latest, text[..(text.Length / 2)]);
                return "latest.json cut in half";
            }
            case "latest-bad-name":
                File.WriteAllText(latest, "{\"checkpoint\":\"../../etc\",\"globalStep\":1,\"retained\":[\"../../etc\"]}");
                return "latest.json names ../../etc";
            case "object-flip":
            {
                var objects = Directory.GetFiles(newest, "*._S3rver_object").Where(f => !f.Contains(CheckpointLayout.ManifestFileName, StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
                var f = context.Pick(objects);
                var bytes = File.ReadAllBytes(f);
                bytes[context.Pick(0, bytes.Length)] ^= 0x5A;
                File.WriteAllBytes(f, bytes);
                return $"{Path.GetFileName(newest)}/{Path.GetFileName(f)} one byte flipped";
            }
            default:
            {
                var m = Path.Combine(newest, CheckpointLayout.ManifestFileName + "._S3rver_object");
                File.WriteAllText(m, "not json " + context.Pick(0, 1000).ToString(CultureInfo.InvariantCulture));
                return $"{Path.GetFileName(newest)}/manifest.json garbage";
            }
        }
    }

    private static string Short(string value) => value.Length > 40 ? value[..20] + $"...({value.Length} chars)" : value;
}
