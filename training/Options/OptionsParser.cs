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
        ("--lr", "X", $"0.001 ({OptimizerNames.AdamW}) / 0.05 ({OptimizerNames.Sgd})", "learning rate"),
        ("--lr-gamma", "X", "1", "learning rate factor applied after every epoch (exponential schedule)"),
        ("--optimizer", string.Join('|', OptimizerNames.All), OptimizerNames.AdamW, $"optimizer ({OptimizerNames.Sgd} uses momentum 0.9)"),
        ("--seed", "N", "42", "seed for initialisation, data order and every random number"),
        ("--threads", "N", "0", "torch intra-op threads (0 = torch default)"),
        ("--checkpoint-dir", "DIR", "", "local checkpoints; resumes from the newest valid one found there"),
        ("--checkpoint-every-steps", "N", "0", "periodic checkpoint interval (0 = only on a signal and at the end)"),
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
    ];

    // System.CommandLine reads the command line: each flag takes one value, as --flag value, --flag=value or --flag:value
    // (given twice, the last wins, as before). Defaults, TRAINER_* fallbacks and validation stay here, so a value from
    // the environment is checked as strictly as one from the command line and the errors name where it came from.
    private static readonly Command TrainCommand = BuildCommand();

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
        ThrowOnSyntaxError(result);
        var given = Given(result);

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
        var port = Integer("--metrics-port", -1, 0, 65535);

        return new TrainerOptions
        {
            Model = Choice("--model", ModelNames.Mlp, ModelNames.All),
            Dataset = dataset,
            DataDirectory = dataDir,
            Samples = (int)Integer("--samples", 2048, 1, 10_000_000),
            NumClasses = numClasses == 0 ? null : (int)numClasses,
            InChannels = Raw("--in-channels") is null ? null : int.Parse(Choice("--in-channels", "1", "1", "3"), CultureInfo.InvariantCulture),
            ImageSize = Raw("--image-size") is null ? null : (int)Integer("--image-size", 0, 8, 4096),
            Stem = Choice("--stem", StemNames.Auto, StemNames.All),
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
            Epochs = (int)Integer("--epochs", 1, 1, 100_000),
            BatchSize = (int)Integer("--batch-size", 64, 1, 1_000_000),
            LearningRate = Real("--lr", optimizer == OptimizerNames.Sgd ? 0.05 : 0.001, 0, 10),
            LearningRateGamma = Real("--lr-gamma", 1, 0, 1),
            Optimizer = optimizer,
            Seed = Integer("--seed", 42, 0, long.MaxValue),
            Threads = (int)Integer("--threads", 0, 0, 1024),
            CheckpointDirectory = Text("--checkpoint-dir"),
            CheckpointEverySteps = (int)Integer("--checkpoint-every-steps", 0, 0, int.MaxValue),
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
        };
    }

    private static Command BuildCommand()
    {
        var command = new Command("train", "Trains a model, resuming from the newest valid checkpoint.");
        foreach (var (flag, value, _, help) in Flags)
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

    private static void ThrowOnSyntaxError(ParseResult result)
    {
        if (result.Errors.Count == 0)
        {
            return;
        }
        var allowed = string.Join(", ", Flags.Select(f => f.Flag));
        // A flag right after a flag that takes a value (--epochs --batch-size 8) means the first value was forgotten.
        if (result.CommandResult.Children.OfType<OptionResult>().FirstOrDefault(o => o.Tokens.Any(t => Flags.Any(f => f.Flag == t.Value))) is { } swallowing)
        {
            throw new OptionsException($"{swallowing.Option.Name}: a value is required ({Flags.First(f => f.Flag == swallowing.Option.Name).Value})");
        }
        if (result.UnmatchedTokens.FirstOrDefault() is { } token)
        {
            var name = token.StartsWith("--", StringComparison.Ordinal) && token.IndexOf('=', StringComparison.Ordinal) is > 0 and var eq ? token[..eq] : token;
            var hint = Nearest(name) is { } near ? $" (did you mean {near}?)" : "";
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
                throw new OptionsException($"{option.Name}: a value is required ({Flags.First(f => f.Flag == option.Name).Value})");
            }
        }
        throw new OptionsException($"{result.Errors[0].Message}; allowed: {allowed}");
    }

    /// <summary>The flag a mistyped one most likely meant (the only one it begins, or a letter or two off), or null.</summary>
    private static string? Nearest(string typed)
    {
        if (!typed.StartsWith("--", StringComparison.Ordinal))
        {
            return null;
        }
        var longer = Flags.Where(f => f.Flag.StartsWith(typed, StringComparison.Ordinal)).Select(f => f.Flag).ToList();
        if (longer.Count == 1)
        {
            return longer[0];
        }
        var best = Flags.Select(f => (f.Flag, Distance: EditDistance(typed, f.Flag))).MinBy(c => c.Distance);
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
