using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using K8sTraining.Contract;

namespace K8sTraining.Training.Options;

/// <summary>
/// Parses <c>train --flag value ...</c> with System.CommandLine. Every flag may also come from the environment as TRAINER_ plus the flag name in
/// upper snake case (<see cref="TrainerEnvironment.ForFlag"/>: <c>--checkpoint-every-steps</c> is
/// <c>TRAINER_CHECKPOINT_EVERY_STEPS</c>); the command line wins.
/// </summary>
public static class OptionsParser
{
    /// <summary>Flag, what it takes, default, one line of help.</summary>
    public static readonly IReadOnlyList<(string Flag, string Value, string Default, string Help)> Flags =
    [
        ("--model", string.Join('|', ModelNames.All), ModelNames.Mlp, "network to train"),
        ("--dataset", string.Join('|', DatasetNames.All), DatasetNames.Synthetic, "training data"),
        ("--data", "DIR|FILE", "/usr/share/datasets/fashion-mnist", $"{DatasetNames.FashionMnist}: directory with the idx files (gzipped or not); {DatasetNames.ImageFolder}: directory with train/<class>/ (val/, test/ optional); {DatasetNames.CsvImages}: the CSV file"),
        ("--num-classes", "N", "the data set's", "classes the model predicts"),
        ("--in-channels", "1|3", "the data set's", "image channels the model reads (images are converted)"),
        ("--image-size", "N", "the data set's", "resize images to N x N"),
        ("--stem", string.Join('|', StemNames.All), StemNames.Auto, "a ResNet's first layers: small (3x3 conv, no max-pool) for inputs up to 64 px when auto"),
        ("--cnn-channels", "N", "16", "the cnn's width: its first convolution has N output channels, the second 2N (--model cnn only)"),
        ("--random-crop-padding", "N", "0", "pad training images by N pixels and crop back at random (0 = off)"),
        ("--horizontal-flip", "true|false", "false", "flip half the training images left to right"),
        ("--normalize", "true|false", "true", "normalise each channel by the training split's mean and standard deviation"),
        ("--max-samples-per-class", "N", "0", "limited mode: at most N training samples per class (0 = all)"),
        ("--val-fraction", "F", "0", "stratified validation split from the training data (0 = none)"),
        ("--class-weights", "none|auto|w1,w2,...", "none", "loss weight per class; auto = inverse frequency"),
        ("--loss", string.Join('|', LossNames.All), LossNames.CrossEntropy, "loss to minimise"),
        ("--focal-gamma", "X", "2", "focal loss focusing parameter"),
        ("--loader-workers", "N", "2", "threads that decode and augment samples"),
        ("--prefetch-batches", "N", "2", "batches prepared ahead of the training step"),
        ("--samples", "N", "2048", "size of the synthetic training set"),
        ("--epochs", "N", "1", "epochs to train"),
        ("--batch-size", "N", "64", "samples per step"),
        ("--lr", "X|auto", $"0.001 ({OptimizerNames.AdamW}) / 0.05 ({OptimizerNames.Sgd})", "learning rate (the peak after warmup; OneCycle's maximum); auto: an LR finder sweep chooses it before the first step, and the checkpoint keeps it"),
        ("--lr-gamma", "X", "1", $"decay factor of {SchedulerNames.Step} (per --step-size), {SchedulerNames.MultiStep} (per milestone) and {SchedulerNames.Exponential} (per epoch)"),
        ("--scheduler", string.Join('|', SchedulerNames.All), SchedulerNames.Step, $"learning-rate schedule, set every optimizer step ({SchedulerNames.Step} with the defaults: constant)"),
        ("--warmup-steps", "N", "0", "linear warmup from 0 to --lr over the first N optimizer steps (not with onecycle)"),
        ("--warmup-epochs", "X", "0", "warmup over X epochs instead of --warmup-steps"),
        ("--min-lr", "X", "0", $"where {SchedulerNames.Cosine} and {SchedulerNames.Linear} end"),
        ("--step-size", "N", "one epoch", $"{SchedulerNames.Step}: optimizer steps between decays by --lr-gamma"),
        ("--milestones", "E1,E2,...", "", $"{SchedulerNames.MultiStep}: epochs at whose start the learning rate is multiplied by --lr-gamma"),
        ("--onecycle-pct-start", "F", "0.3", $"{SchedulerNames.OneCycle}: fraction of the steps spent raising the learning rate"),
        ("--onecycle-div-factor", "X", "25", $"{SchedulerNames.OneCycle}: the first learning rate is --lr / X"),
        ("--onecycle-final-div-factor", "X", "10000", $"{SchedulerNames.OneCycle}: the last learning rate is the first / X"),
        ("--base-momentum", "X", "0.85", $"{SchedulerNames.OneCycle}: the lowest momentum (SGD momentum or AdamW beta1), at the learning rate's peak"),
        ("--max-momentum", "X", "0.95", $"{SchedulerNames.OneCycle}: the highest momentum, at the start and the end"),
        ("--optimizer", string.Join('|', OptimizerNames.All), OptimizerNames.AdamW, "optimizer"),
        ("--momentum", "X", "0.9", $"{OptimizerNames.Sgd} momentum, or {OptimizerNames.AdamW} beta1 (onecycle cycles it between --base-momentum and --max-momentum)"),
        ("--nesterov", "true|false", "false", $"{OptimizerNames.Sgd}: Nesterov momentum"),
        ("--weight-decay", "X", "0", $"weight decay (decoupled for {OptimizerNames.AdamW}; PyTorch's {OptimizerNames.AdamW} default is 0.01)"),
        ("--grad-clip-norm", "X", "0", "clip the gradients' total L2 norm to X before each optimizer step (0 = off)"),
        ("--grad-accumulation-steps", "N", "1", "sum the gradients of N batches into one optimizer step (a stop waits for the whole step)"),
        ("--lr-find-steps", "N", "100", "LR finder: optimizer steps of the sweep (lr-find, --lr auto)"),
        ("--lr-find-start", "X", "1e-7", "LR finder: the first learning rate of the sweep"),
        ("--lr-find-end", "X", "10", "LR finder: the last learning rate of the sweep"),
        ("--lr-find-rule", string.Join('|', LrFinderRuleNames.All), LrFinderRuleNames.Steepest, "LR finder: the suggestion, where the smoothed loss falls fastest before its minimum, a tenth of the rate at its minimum, or half way down its longest fall"),
        ("--mixup-alpha", "X", "0", "mixup: lambda ~ Beta(X, X) (0 = off)"),
        ("--cutmix-alpha", "X", "0", "CutMix: area ratio ~ Beta(X, X) (0 = off); with mixup on too, each mixed batch picks one at even odds"),
        ("--mix-prob", "F", "1", "the chance a batch is mixed"),
        ("--mix-off-last-epochs", "N|F", "0", "no mixing in the last N epochs, or the last fraction F (below 1) of --epochs"),
        ("--label-smoothing", "E", "0", $"label smoothing epsilon, {LabelSmoothingRule.Text}"),
        ("--ema-decay", "X", "0", "keep an exponential moving average of the weights with this decay (0 = off); evaluated and saved beside the weights"),
        ("--freeze", "PREFIX,...", "", "freeze the parameters whose names start with one of these prefixes"),
        ("--best-metric", string.Join('|', BestMetricNames.All), $"{BestMetricNames.ValidationAccuracy} with a validation split, else {BestMetricNames.None}", "keep the best checkpoint by this validation metric (needs --val-fraction or a data set with a validation split)"),
        ("--best-weights", string.Join('|', BestWeightsNames.All), $"{BestWeightsNames.Ema} with --ema-decay, else {BestWeightsNames.Raw}", "which weights compete for the best checkpoint"),
        ("--reconfigure", "true|false", "false", "resume from a checkpoint trained with another learning rate, schedule or optimizer settings: the schedule is rebuilt from the current position (see Resuming with changed parameters)"),
        ("--scale-lr-with-batch", "true|false", "false", "on a resume with another --batch-size, scale the learning rate linearly (new/old); recorded in the checkpoint"),
        ("--stages", "JSON", "", "a staged curriculum: a JSON array of {name, epochs, and overrides: batchSize, learningRate|lrScale, schedule, dataFraction, imageSize, mixup, freeze, initFrom (previous|best-of-previous), maxDurationSeconds}; the run's epochs are their sum (--epochs is ignored)"),
        ("--schedule-scope", string.Join('|', ScheduleScopeNames.All), ScheduleScopeNames.Stage, "with --stages: one learning-rate schedule per stage, or one over the whole run (counted in optimizer steps across the stages)"),
        ("--seed", "N", "42", "seed for initialisation, data order and every random number"),
        ("--threads", "N", "0", "torch intra-op threads (0 = torch default)"),
        ("--checkpoint-dir", "DIR", "", "local checkpoints; resumes from the newest valid one found there"),
        ("--checkpoint-every-steps", "N", "0", "periodic checkpoint interval (0 = only on a signal and at the end)"),
        ("--checkpoint-write", string.Join('|', CheckpointWriteModes.All), CheckpointWriteModes.Background, "periodic checkpoints written in the background (a hard kill mid-write loses that one too) or sync (a hard kill loses at most the interval)"),
        ("--keep-checkpoints", "K", "3", "how many checkpoints retention keeps"),
        ("--output", "FILE", "", "final weights"),
        ("--termination-log", "FILE", $"{TerminationMessage.DefaultPath} when writable", "where the one-line JSON report goes"),
        ("--checkpoint-uri", "s3://bucket/prefix", "", "remote checkpoint store (S3-compatible, AWS_* credentials)"),
        ("--metrics-port", "N", "", "Prometheus metrics port"),
        ("--shutdown-timeout-seconds", "N", "25", "budget for the signal checkpoint and its upload"),
        ("--log-csv", "FILE", "<checkpoint-dir>/training-log.csv", "CSV training log"),
        ("--log-every-steps", "N", "50", "structured log and CSV row interval"),
        ("--progress", "auto|bar|log", "auto", "progress bar on a terminal, log lines otherwise"),
        ("--job-namespace", "NAME", "", "the TrainingJob's namespace (set by the operator; metrics labels, owner.json)"),
        ("--job-name", "NAME", "", "the TrainingJob's name (set by the operator; metrics labels, owner.json)"),
        ("--job-uid", "UID", "", "the TrainingJob's uid: claims --checkpoint-uri in owner.json and refuses a prefix another job owns"),
        ("--checkpoint-adopt", "true|false", "false", "take over a --checkpoint-uri prefix that holds another job's checkpoints"),
        ("--init-from", "DIR|s3://bucket/prefix", "", "fine-tune: a fresh run starts from the weights of this run's checkpoint (read only), matched by name and shape; the others (a new head) keep their fresh initialisation"),
        ("--init-checkpoint", $"{CheckpointSelectors.Best}|{CheckpointSelectors.Latest}|{CheckpointSelectors.StepPrefix}N", CheckpointSelectors.Best, $"which checkpoint of --init-from ({CheckpointSelectors.Best} falls back to {CheckpointSelectors.Latest} when the source kept no best)"),
        ("--init-optimizer", "true|false", "false", "also load --init-from's optimizer state (every trainable parameter must match)"),
        ("--dist-backend", string.Join('|', CollectiveBackends.All), CollectiveBackends.Gloo, $"data parallel (with {DistributedEnvironment.WorldSize} above 1): the collective engine, gloo on CPU or nccl on CUDA"),
        ("--dist-timeout-seconds", "N", "300", $"data parallel: how long the rendezvous and every collective wait for the other ranks before this one exits {TrainerExitCodes.PeerLost} ({TerminationReasons.PeerLost})"),
        ("--deadline", "RFC3339", "", $"an instant (2026-11-30T22:00:00Z) by which to checkpoint and exit {TrainerExitCodes.Interrupted} ({TerminationReasons.DeadlineExceeded}), early enough for the measured checkpoint and upload time"),
    ];

    // System.CommandLine reads the command line: each flag takes one value, as --flag value, --flag=value or --flag:value
    // (given twice, the last wins, as before). Defaults, TRAINER_* fallbacks and validation stay here, so a value from
    // the environment is checked as strictly as one from the command line and the errors name where it came from.
    private static readonly Command TrainCommand = BuildCommand("train", "Trains a model, resuming from the newest valid checkpoint.", Flags);

    // No @file response files: a value such as --job-name @x must stay a value.
    private static readonly ParserConfiguration Configuration = new() { ResponseFileTokenReplacer = null };

    /// <summary>True when the arguments after the command ask for help (-h or --help anywhere).</summary>
    public static bool IsHelpRequest(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        return args.Any(a => a is "-h" or "--help");
    }

    public static string Usage()
    {
        var lines = Flags.Select(f => $"  {f.Flag + " " + f.Value,-42} {f.Help} (default {(f.Default.Length == 0 ? "none" : f.Default)}; env {TrainerEnvironment.ForFlag(f.Flag)})");
        return "usage: K8sTraining.Trainer train [flags]\n" + string.Join('\n', lines) + "\n";
    }

    /// <summary>
    /// The flags of a command other than <c>train</c>: its own flags first (command line only), then every train flag it
    /// does not redefine (a redefined one, such as <c>--output</c>, keeps its TrainerOptions field and gets the command's help).
    /// </summary>
    public static IReadOnlyList<(string Flag, string Value, string Default, string Help)> CommandFlags(IReadOnlyList<(string Flag, string Value, string Default, string Help)> own)
    {
        ArgumentNullException.ThrowIfNull(own);
        return [.. own, .. Flags.Where(f => !own.Any(o => o.Flag == f.Flag))];
    }

    /// <summary>The usage of a command: its summary, its own flags, then the train flags it shares.</summary>
    public static string CommandUsage(string name, string synopsis, string summary, IReadOnlyList<(string Flag, string Value, string Default, string Help)> own)
    {
        ArgumentNullException.ThrowIfNull(own);
        string Line((string Flag, string Value, string Default, string Help) f) =>
            $"  {f.Flag + " " + f.Value,-42} {f.Help} (default {(f.Default.Length == 0 ? "none" : f.Default)})";
        var shared = Flags.Where(f => !own.Any(o => o.Flag == f.Flag)).Select(Line);
        return $"usage: K8sTraining.Trainer {name} {synopsis}\n{summary}\n{name} flags:\n{string.Join('\n', own.Select(Line))}\n"
            + $"data and model flags, as for train (give the ones the run was trained with):\n{string.Join('\n', shared)}\n";
    }

    /// <summary>
    /// Parses a command's arguments: the train flags into <see cref="TrainerOptions"/> (validated as for train, TRAINER_*
    /// fallbacks included), and the values of the command's own flags as given on the command line.
    /// </summary>
    public static (TrainerOptions Options, IReadOnlyDictionary<string, string> Own) ParseCommand(
        string name, IReadOnlyList<(string Flag, string Value, string Default, string Help)> own, IReadOnlyList<string> args, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(own);
        var flags = CommandFlags(own);
        var command = BuildCommand(name, name, flags);
        var result = command.Parse(args, Configuration);
        ThrowOnSyntaxError(result, flags);
        var given = Given(result);
        var options = Parse(given, environment);
        return (options, given.Where(kv => own.Any(o => o.Flag == kv.Key)).ToDictionary(StringComparer.Ordinal));
    }

    /// <summary>
    /// Where the report of a command line that does not parse goes: --termination-log as far as it can be read (in any of
    /// its forms), else null (then TRAINER_TERMINATION_LOG, then the Kubernetes default).
    /// </summary>
    public static string? TerminationLogFlag(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var result = TrainCommand.Parse(args, Configuration);
        return Given(result).GetValueOrDefault("--termination-log");
    }

    /// <summary>Parses and validates; throws <see cref="OptionsException"/> naming the field, value and what is allowed.</summary>
    public static TrainerOptions Parse(IReadOnlyList<string> args, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(environment);
        var result = TrainCommand.Parse(args, Configuration);
        ThrowOnSyntaxError(result, Flags);
        return Parse(Given(result), environment);
    }

    private static TrainerOptions Parse(Dictionary<string, string> given, Func<string, string?> environment)
    {
        string? Raw(string flag)
        {
            if (given.TryGetValue(flag, out var v))
            {
                return v;
            }
            var env = environment(TrainerEnvironment.ForFlag(flag));
            return string.IsNullOrEmpty(env) ? null : env;
        }

        // Where a bad value came from, as the user set it: the flag, or the environment variable read as that flag.
        string Source(string flag) => given.ContainsKey(flag) ? flag : $"environment variable {TrainerEnvironment.ForFlag(flag)}, read as {flag}";

        string Choice(string flag, string fallback, params IReadOnlyList<string> allowed)
        {
            var v = Raw(flag) ?? fallback;
            return allowed.Contains(v, StringComparer.Ordinal)
                ? v
                : throw new OptionsException($"{Source(flag)}: '{v}' is not allowed; allowed: {string.Join(", ", allowed)}");
        }

        long Integer(string flag, long fallback, long min, long max)
        {
            var raw = Raw(flag);
            if (raw is null)
            {
                return fallback;
            }
            if (!long.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) || v < min || v > max)
            {
                throw new OptionsException($"{Source(flag)}: '{raw}' is not allowed; allowed: an integer from {min} to {max}");
            }
            return v;
        }

        double Real(string flag, double fallback, double minExclusive, double max)
        {
            var raw = Raw(flag);
            if (raw is null)
            {
                return fallback;
            }
            if (!double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v) || v <= minExclusive || v > max)
            {
                throw new OptionsException($"{Source(flag)}: '{raw}' is not allowed; allowed: a number greater than {minExclusive.ToString(CultureInfo.InvariantCulture)} and at most {max.ToString(CultureInfo.InvariantCulture)}");
            }
            return v;
        }

        string? Text(string flag) => Raw(flag);

        // A number from 0 (included) to max: 0 switches the feature off.
        double NonNegative(string flag, double fallback, double max) => Raw(flag) is "0" ? 0 : Raw(flag) is null ? fallback : NonNegativeValue(flag, max);

        double NonNegativeValue(string flag, double max)
        {
            var raw = Raw(flag)!;
            if (!double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v) || v < 0 || v > max)
            {
                throw new OptionsException($"{Source(flag)}: '{raw}' is not allowed; allowed: a number from 0 to {max.ToString(CultureInfo.InvariantCulture)}");
            }
            return v;
        }

        // A momentum or beta: from 0 (included) to below 1.
        double Fraction(string flag, double fallback) => NonNegative(flag, fallback, 0.999999);

        IReadOnlyList<int> IntegerList(string flag, int min, int max)
        {
            var raw = Raw(flag);
            if (raw is null)
            {
                return [];
            }
            var values = new List<int>();
            foreach (var part in raw.Split(','))
            {
                if (!int.TryParse(part.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) || v < min || v > max || (values.Count > 0 && v <= values[^1]))
                {
                    throw new OptionsException($"{Source(flag)}: '{raw}' is not allowed; allowed: increasing integers from {min} to {max}, comma-separated (30,60,90)");
                }
                values.Add(v);
            }
            return values;
        }

        var optimizer = Choice("--optimizer", OptimizerNames.AdamW, OptimizerNames.All);
        var dataset = Choice("--dataset", DatasetNames.Synthetic, DatasetNames.All);
        var uri = Text("--checkpoint-uri");
        if (uri is not null && !uri.StartsWith(CheckpointLayout.RemoteScheme, StringComparison.Ordinal))
        {
            throw new OptionsException($"{Source("--checkpoint-uri")}: '{uri}' is not allowed; allowed: s3://bucket/prefix");
        }
        var dataDir = Text("--data") ?? (dataset == DatasetNames.FashionMnist ? "/usr/share/datasets/fashion-mnist" : null);
        if (dataset == DatasetNames.FashionMnist && !Directory.Exists(dataDir))
        {
            throw new OptionsException($"{Source("--data")}: '{dataDir}' is not allowed; allowed: an existing directory with the Fashion-MNIST idx files");
        }
        if (dataset == DatasetNames.ImageFolder && !Directory.Exists(dataDir))
        {
            throw new OptionsException($"{Source("--data")}: '{dataDir ?? ""}' is not allowed; allowed: an existing directory with train/<class>/ image folders (and optionally val/ and test/)");
        }
        if (dataset == DatasetNames.CsvImages && !File.Exists(dataDir))
        {
            throw new OptionsException($"{Source("--data")}: '{dataDir ?? ""}' is not allowed; allowed: an existing CSV file with the header emotion,pixels,Usage");
        }
        var classWeights = Raw("--class-weights") ?? "none";
        if (classWeights is not ("none" or "auto") && !classWeights.Split(',').All(w => double.TryParse(w, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && double.IsFinite(x) && x >= 0))
        {
            throw new OptionsException($"{Source("--class-weights")}: '{classWeights}' is not allowed; allowed: none, auto, or one non-negative weight per class, comma-separated (1,1,10)");
        }
        var numClasses = Integer("--num-classes", 0, 2, 100_000);
        var lrRaw = Raw("--lr");
        var lrAuto = lrRaw == "auto";
        var scheduler = Choice("--scheduler", SchedulerNames.Step, SchedulerNames.All);
        var warmupSteps = (int)Integer("--warmup-steps", 0, 0, int.MaxValue);
        double? warmupEpochs = Raw("--warmup-epochs") is null or "0" ? null : Real("--warmup-epochs", 0, 0, 100_000);
        if (warmupSteps > 0 && warmupEpochs is not null)
        {
            throw new OptionsException($"{Source("--warmup-epochs")}: '{Raw("--warmup-epochs")}' is not allowed together with --warmup-steps {warmupSteps}; allowed: one of the two");
        }
        if ((warmupSteps > 0 || warmupEpochs is not null) && scheduler == SchedulerNames.OneCycle)
        {
            throw new OptionsException($"{Source(warmupSteps > 0 ? "--warmup-steps" : "--warmup-epochs")}: not allowed with --scheduler {SchedulerNames.OneCycle}, which warms up by itself; allowed: --onecycle-pct-start");
        }
        var milestones = IntegerList("--milestones", 0, 100_000);
        if (scheduler == SchedulerNames.MultiStep && milestones.Count == 0)
        {
            throw new OptionsException($"--milestones: required with --scheduler {SchedulerNames.MultiStep}; allowed: epochs, comma-separated (30,60,90)");
        }
        var freeze = Raw("--freeze") is { } frozen ? frozen.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : [];
        var baseMomentum = Fraction("--base-momentum", 0.85);
        var maxMomentum = Fraction("--max-momentum", 0.95);
        if (baseMomentum > maxMomentum)
        {
            throw new OptionsException($"{Source("--base-momentum")}: '{baseMomentum.ToString(CultureInfo.InvariantCulture)}' is not allowed; allowed: at most --max-momentum ({maxMomentum.ToString(CultureInfo.InvariantCulture)})");
        }
        var bestMetric = Raw("--best-metric") is null ? null : Choice("--best-metric", BestMetricNames.None, BestMetricNames.All);
        var bestWeights = Raw("--best-weights") is null ? null : Choice("--best-weights", BestWeightsNames.Raw, BestWeightsNames.All);
        var emaDecay = NonNegative("--ema-decay", 0, 0.999999);
        if (bestWeights == BestWeightsNames.Ema && emaDecay == 0)
        {
            throw new OptionsException($"{Source("--best-weights")}: '{BestWeightsNames.Ema}' is not allowed without an EMA; allowed: {BestWeightsNames.Raw}, or set --ema-decay (0.999)");
        }
        var mixOff = NonNegative("--mix-off-last-epochs", 0, 100_000);
        if (mixOff >= 1 && mixOff != Math.Floor(mixOff))
        {
            throw new OptionsException($"{Source("--mix-off-last-epochs")}: '{Raw("--mix-off-last-epochs")}' is not allowed; allowed: a whole number of epochs, or a fraction below 1");
        }
        var port = Integer("--metrics-port", -1, 0, 65535);
        var initCheckpoint = Raw("--init-checkpoint") ?? CheckpointSelectors.Best;
        if (!K8sTraining.Training.Commands.CheckpointChoice.IsSelector(initCheckpoint))
        {
            throw new OptionsException($"{Source("--init-checkpoint")}: '{initCheckpoint}' is not allowed; allowed: {CheckpointSelectors.Best}, {CheckpointSelectors.Latest}, {CheckpointSelectors.StepPrefix}N (a global step, such as {CheckpointSelectors.StepPrefix}250)");
        }
        var initFrom = Text("--init-from");
        if (initFrom is not null && !initFrom.StartsWith(CheckpointLayout.RemoteScheme, StringComparison.Ordinal) && !Directory.Exists(initFrom))
        {
            throw new OptionsException($"{Source("--init-from")}: '{initFrom}' is not allowed; allowed: an existing checkpoint directory (another run's --checkpoint-dir) or s3://bucket/prefix");
        }
        var scheduleScope = Choice("--schedule-scope", ScheduleScopeNames.Stage, ScheduleScopeNames.All);
        var stages = Raw("--stages") is { } stagesJson ? K8sTraining.Training.Stages.StageJson.Parse(stagesJson, Source("--stages"), scheduleScope) : null;

        var distributed = K8sTraining.Training.Distributed.DistributedSettings.FromEnvironment(environment);
        var initOptimizer = Choice("--init-optimizer", "false", "true", "false") == "true";
        if (distributed is not null && initOptimizer)
        {
            throw new OptionsException($"{Source("--init-optimizer")}: 'true' is not allowed with {DistributedEnvironment.WorldSize} {distributed.WorldSize}; allowed: false (data-parallel ranks start from rank 0's weights and a fresh optimizer), or fine-tune with one worker");
        }

        var parsed = new TrainerOptions
        {
            Model = Choice("--model", ModelNames.Mlp, ModelNames.All),
            Dataset = dataset,
            DataDirectory = dataDir,
            Samples = (int)Integer("--samples", 2048, 1, 10_000_000),
            NumClasses = numClasses == 0 ? null : (int)numClasses,
            InChannels = Raw("--in-channels") is null ? null : int.Parse(Choice("--in-channels", "1", "1", "3"), CultureInfo.InvariantCulture),
            ImageSize = Raw("--image-size") is null ? null : (int)Integer("--image-size", 0, 8, 4096),
            Stem = Choice("--stem", StemNames.Auto, StemNames.All),
            CnnChannels = Raw("--cnn-channels") is null ? null : (int)Integer("--cnn-channels", 0, 1, 512),
            RandomCropPadding = (int)Integer("--random-crop-padding", 0, 0, 1024),
            HorizontalFlip = Choice("--horizontal-flip", "false", "true", "false") == "true",
            Normalize = Choice("--normalize", "true", "true", "false") == "true",
            MaxSamplesPerClass = (int)Integer("--max-samples-per-class", 0, 0, int.MaxValue),
            ValFraction = Raw("--val-fraction") is "0" ? 0 : Real("--val-fraction", 0, 0, 0.9),
            ClassWeights = classWeights,
            Loss = Choice("--loss", LossNames.CrossEntropy, LossNames.All),
            FocalGamma = Raw("--focal-gamma") is "0" ? 0 : Real("--focal-gamma", 2, 0, 100),
            LoaderWorkers = (int)Integer("--loader-workers", 2, 1, 256),
            PrefetchBatches = (int)Integer("--prefetch-batches", 2, 1, 1024),
            Epochs = stages is null ? (int)Integer("--epochs", 1, 1, 100_000) : stages.Sum(st => st.Epochs),
            Stages = stages,
            ScheduleScope = scheduleScope,
            BatchSize = (int)Integer("--batch-size", 64, 1, 1_000_000),
            LearningRate = lrAuto ? 0 : Real("--lr", optimizer == OptimizerNames.Sgd ? 0.05 : 0.001, 0, 10),
            LearningRateAuto = lrAuto,
            LearningRateGamma = Real("--lr-gamma", 1, 0, 1),
            Scheduler = scheduler,
            WarmupSteps = warmupSteps,
            WarmupEpochs = warmupEpochs,
            MinLearningRate = NonNegative("--min-lr", 0, 10),
            StepSize = Raw("--step-size") is null ? null : (int)Integer("--step-size", 1, 1, int.MaxValue),
            Milestones = milestones,
            OneCyclePctStart = Real("--onecycle-pct-start", 0.3, 0, 0.999),
            OneCycleDivFactor = Real("--onecycle-div-factor", 25, 0, 1e9),
            OneCycleFinalDivFactor = Real("--onecycle-final-div-factor", 1e4, 0, 1e12),
            BaseMomentum = baseMomentum,
            MaxMomentum = maxMomentum,
            Momentum = Fraction("--momentum", 0.9),
            Nesterov = Choice("--nesterov", "false", "true", "false") == "true",
            WeightDecay = NonNegative("--weight-decay", 0, 10),
            GradClipNorm = NonNegative("--grad-clip-norm", 0, 1e9),
            GradAccumulationSteps = (int)Integer("--grad-accumulation-steps", 1, 1, 100_000),
            LrFindSteps = (int)Integer("--lr-find-steps", 100, 5, 100_000),
            LrFindStart = Real("--lr-find-start", 1e-7, 0, 10),
            LrFindEnd = Real("--lr-find-end", 10, 0, 1000),
            LrFindRule = Choice("--lr-find-rule", LrFinderRuleNames.Steepest, LrFinderRuleNames.All),
            MixupAlpha = NonNegative("--mixup-alpha", 0, 100),
            CutMixAlpha = NonNegative("--cutmix-alpha", 0, 100),
            MixProbability = Real("--mix-prob", 1, 0, 1),
            MixOffLastEpochs = mixOff,
            LabelSmoothing = NonNegative("--label-smoothing", 0, 0.999),
            EmaDecay = emaDecay,
            Freeze = freeze,
            Reconfigure = Choice("--reconfigure", "false", "true", "false") == "true",
            ScaleLrWithBatch = Choice("--scale-lr-with-batch", "false", "true", "false") == "true",
            BestMetric = bestMetric,
            BestWeights = bestWeights,
            Optimizer = optimizer,
            Seed = Integer("--seed", 42, 0, long.MaxValue),
            Threads = (int)Integer("--threads", 0, 0, 1024),
            CheckpointDirectory = Text("--checkpoint-dir"),
            CheckpointEverySteps = (int)Integer("--checkpoint-every-steps", 0, 0, int.MaxValue),
            CheckpointWrite = Choice("--checkpoint-write", CheckpointWriteModes.Background, CheckpointWriteModes.All),
            KeepCheckpoints = (int)Integer("--keep-checkpoints", 3, 1, 10_000),
            Output = Text("--output"),
            TerminationLog = Text("--termination-log"),
            CheckpointUri = uri,
            MetricsPort = port < 0 ? null : (int)port,
            ShutdownTimeoutSeconds = (int)Integer("--shutdown-timeout-seconds", 25, 1, 3600),
            LogCsv = Text("--log-csv"),
            LogEverySteps = (int)Integer("--log-every-steps", 50, 1, int.MaxValue),
            Progress = Choice("--progress", "auto", "auto", "bar", "log"),
            JobNamespace = Text("--job-namespace"),
            JobName = Text("--job-name"),
            JobUid = Text("--job-uid"),
            CheckpointAdopt = Choice("--checkpoint-adopt", "false", "true", "false") == "true",
            InitFrom = initFrom,
            InitCheckpoint = initCheckpoint,
            InitOptimizer = initOptimizer,
            Deadline = Raw("--deadline") is { } deadline ? K8sTraining.Training.Deadlines.DeadlineInstant.Parse(deadline, Source("--deadline")) : null,
            Distributed = distributed,
            DistBackend = Choice("--dist-backend", CollectiveBackends.Gloo, CollectiveBackends.All),
            DistTimeoutSeconds = (int)Integer("--dist-timeout-seconds", 300, 1, 86_400),
        };
        // A stage's schedule merged with the training's must still be one the flags allow (exit 2 otherwise).
        _ = K8sTraining.Training.Stages.StagePlan.From(parsed);
        return parsed;
    }

    private static Command BuildCommand(string name, string description, IReadOnlyList<(string Flag, string Value, string Default, string Help)> flags)
    {
        var command = new Command(name, description);
        foreach (var (flag, value, _, help) in flags)
        {
            command.Options.Add(new Option<string[]>(flag)
            {
                Description = help,
                HelpName = value,
                Arity = ArgumentArity.OneOrMore,
                AllowMultipleArgumentsPerToken = false,
            });
        }
        return command;
    }

    /// <summary>The flags given on the command line, each with its last value.</summary>
    private static Dictionary<string, string> Given(ParseResult result) =>
        result.CommandResult.Children.OfType<OptionResult>()
            .Where(o => o is { Implicit: false, Tokens.Count: > 0 })
            .ToDictionary(o => o.Option.Name, o => o.Tokens[^1].Value, StringComparer.Ordinal);

    private static void ThrowOnSyntaxError(ParseResult result, IReadOnlyList<(string Flag, string Value, string Default, string Help)> flags)
    {
        if (result.Errors.Count == 0)
        {
            return;
        }
        var allowed = string.Join(", ", flags.Select(f => f.Flag));
        // A flag right after a flag that takes a value (--epochs --batch-size 8) means the first value was forgotten.
        if (result.CommandResult.Children.OfType<OptionResult>().FirstOrDefault(o => o.Tokens.Any(t => flags.Any(f => f.Flag == t.Value))) is { } swallowing)
        {
            throw new OptionsException($"{swallowing.Option.Name}: a value is required ({flags.First(f => f.Flag == swallowing.Option.Name).Value})");
        }
        if (result.UnmatchedTokens.FirstOrDefault() is { } token)
        {
            var name = token.StartsWith("--", StringComparison.Ordinal) && token.IndexOf('=', StringComparison.Ordinal) is > 0 and var eq ? token[..eq] : token;
            var hint = Nearest(name, flags) is { } near ? $" (did you mean {near}?)" : "";
            throw new OptionsException($"unknown argument '{name}'{hint}; allowed: {allowed}");
        }
        foreach (var error in result.Errors)
        {
            var option = error.SymbolResult switch
            {
                OptionResult o => o.Option,
                ArgumentResult { Parent: OptionResult o } => o.Option,
                _ => null,
            };
            if (option is not null)
            {
                throw new OptionsException($"{option.Name}: a value is required ({flags.First(f => f.Flag == option.Name).Value})");
            }
        }
        throw new OptionsException($"{result.Errors[0].Message}; allowed: {allowed}");
    }

    /// <summary>The flag a mistyped one most likely meant (the only one it begins, or a letter or two off), or null.</summary>
    private static string? Nearest(string typed, IReadOnlyList<(string Flag, string Value, string Default, string Help)> flags)
    {
        if (!typed.StartsWith("--", StringComparison.Ordinal))
        {
            return null;
        }
        var longer = flags.Where(f => f.Flag.StartsWith(typed, StringComparison.Ordinal)).Select(f => f.Flag).ToList();
        if (longer.Count == 1)
        {
            return longer[0];
        }
        var best = flags.Select(f => (f.Flag, Distance: EditDistance(typed, f.Flag))).MinBy(c => c.Distance);
        return best.Distance <= Math.Max(2, typed.Length / 5) ? best.Flag : null;
    }

    private static int EditDistance(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var current = new int[b.Length + 1];
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }
            previous = current;
        }
        return previous[b.Length];
    }
}
