using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace K8sTraining.Operator.Runtime;

/// <summary>The operator's command line (`--name value` or `--name=value`), read with System.CommandLine.</summary>
public sealed record OperatorOptions
{
    /// <summary>Kubeconfig file; without it the in-cluster configuration (or $KUBECONFIG / ~/.kube/config).</summary>
    public string? Kubeconfig { get; init; }

    /// <summary>Namespaces to watch; empty means all.</summary>
    public IReadOnlyList<string> Namespaces { get; init; } = [];

    public bool LeaderElect { get; init; }

    public string LeaderElectionNamespace { get; init; } = "default";

    public string LeaderElectionLeaseName { get; init; } = "k8s-training-operator";

    public string Identity { get; init; } = $"{Environment.MachineName}-{Environment.ProcessId}";

    /// <summary>Port of /healthz, /readyz (and /metrics); 0 picks a free one.</summary>
    public int HttpPort { get; init; } = 8080;

    public int MaxConcurrentReconciles { get; init; } = 4;

    /// <summary>Server-side watch timeout; the client gives up (hang detector) a little after it.</summary>
    public int WatchTimeoutSeconds { get; init; } = 300;

    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(15);

    public TimeSpan RenewDeadline { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan RetryPeriod { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Every job is reconciled again this often even without events (a safety net, as controller-runtime's SyncPeriod),
    /// and the caches are listed afresh as often, so a change whose watch event was lost is seen within this period.
    /// </summary>
    public TimeSpan ResyncPeriod { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How often the trainer of a running attempt is asked for its position (its /metrics), so the status shows the
    /// live progress and the newest checkpoint; 0 turns it off (then both move only when an attempt ends).
    /// </summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The image of the checkpoint-sync sidecar the operator adds with spec.checkpoint.sync sidecar.</summary>
    public string CheckpointSyncImage { get; init; } = K8sTraining.Operator.Pods.CheckpointSyncSidecar.DefaultImage;

    /// <summary>Each flag: its name, what it takes, its help, and how its value sets the options.</summary>
    private static readonly IReadOnlyList<Flag> Flags =
    [
        new("kubeconfig", "PATH", "kubeconfig file (default: in-cluster, then $KUBECONFIG or ~/.kube/config)", (o, _, v) => o with { Kubeconfig = v }),
        new("namespaces", "A,B", "namespaces to watch, comma-separated (default: all)", (o, _, v) => o with { Namespaces = v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) }),
        new("leader-elect", "true|false", "run with leader election (a bare --leader-elect means true)", (o, n, v) => o with { LeaderElect = ParseBool(n, v) }, IsSwitch: true),
        new("leader-election-namespace", "NAME", "namespace of the leader election Lease (default default)", (o, _, v) => o with { LeaderElectionNamespace = v }),
        new("leader-election-lease-name", "NAME", "name of the leader election Lease (default k8s-training-operator)", (o, _, v) => o with { LeaderElectionLeaseName = v }),
        new("identity", "ID", "this replica's identity in the Lease (default host name and process id)", (o, _, v) => o with { Identity = v }),
        new("http-port", "N", "port of /healthz, /readyz and /metrics; 0 picks a free one (default 8080)", (o, n, v) => o with { HttpPort = ParseInt(n, v, 0, 65535) }),
        new("max-concurrent-reconciles", "N", "jobs reconciled at once (default 4)", (o, n, v) => o with { MaxConcurrentReconciles = ParseInt(n, v, 1, 1000) }),
        new("watch-timeout-seconds", "N", "server-side watch timeout (default 300)", (o, n, v) => o with { WatchTimeoutSeconds = ParseInt(n, v, 1, 3600) }),
        new("lease-duration-seconds", "N", "leader election lease duration (default 15)", (o, n, v) => o with { LeaseDuration = TimeSpan.FromSeconds(ParseInt(n, v, 1, 3600)) }),
        new("renew-deadline-seconds", "N", "leader election renew deadline, less than the lease duration (default 10)", (o, n, v) => o with { RenewDeadline = TimeSpan.FromSeconds(ParseInt(n, v, 1, 3600)) }),
        new("retry-period-seconds", "N", "leader election retry period (default 2)", (o, n, v) => o with { RetryPeriod = TimeSpan.FromSeconds(ParseInt(n, v, 1, 3600)) }),
        new("resync-period-seconds", "N", "every job is reconciled again, and the caches relisted, this often (default 600)", (o, n, v) => o with { ResyncPeriod = TimeSpan.FromSeconds(ParseInt(n, v, 1, 86400)) }),
        new("checkpoint-sync-image", "IMAGE", $"image of the checkpoint-sync sidecar (spec.checkpoint.sync sidecar; default {K8sTraining.Operator.Pods.CheckpointSyncSidecar.DefaultImage})", (o, n, v) => o with { CheckpointSyncImage = ParseImage(n, v) }),
        new("progress-interval-seconds", "N", "how often a running trainer's /metrics is read for status; 0 = never (default 30)", (o, n, v) => o with { ProgressInterval = TimeSpan.FromSeconds(ParseInt(n, v, 0, 86400)) }),
    ];

    // System.CommandLine reads the command line (--name value, --name=value or --name:value; given twice, the last wins);
    // the table above turns each value into options, so every message names the flag and what it takes.
    private static readonly Command OperatorCommand = BuildCommand();

    private static readonly ParserConfiguration Configuration = new() { ResponseFileTokenReplacer = null };

    /// <summary>True when the command line asks for help (-h or --help anywhere).</summary>
    public static bool IsHelpRequest(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        return args.Any(a => a is "-h" or "--help");
    }

    /// <summary>The flags, one a line, for --help.</summary>
    public static string Usage() =>
        "usage: K8sTraining.Operator [flags]\n" + string.Join('\n', Flags.Select(f => $"  {"--" + f.Name + " " + f.Value,-42} {f.Help}")) + "\n";

    /// <summary>Parses the command line; throws <see cref="ArgumentException"/> naming the flag and what it takes.</summary>
    public static OperatorOptions Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var result = OperatorCommand.Parse(args, Configuration);
        // A flag right after a flag that takes a value (--http-port --identity a) means the first value was forgotten.
        if (result.CommandResult.Children.OfType<OptionResult>().FirstOrDefault(o => o.Tokens.Any(t => Flags.Any(f => "--" + f.Name == t.Value))) is { } swallowing)
        {
            throw new ArgumentException($"{swallowing.Option.Name} needs a value ({Flags.First(f => "--" + f.Name == swallowing.Option.Name).Value})");
        }
        if (result.UnmatchedTokens.FirstOrDefault() is { } token)
        {
            throw new ArgumentException(token.StartsWith("--", StringComparison.Ordinal)
                ? $"unknown flag {(token.IndexOf('=', StringComparison.Ordinal) is > 0 and var eq ? token[..eq] : token)}; run with --help for the flags"
                : $"unexpected argument '{token}'; run with --help for the flags");
        }

        var missing = result.Errors.Select(e => e.SymbolResult switch
        {
            OptionResult o => o.Option,
            ArgumentResult { Parent: OptionResult o } => o.Option,
            _ => null,
        }).FirstOrDefault(o => o is not null);
        if (missing is not null)
        {
            throw new ArgumentException($"{missing.Name} needs a value ({Flags.First(f => "--" + f.Name == missing.Name).Value})");
        }
        if (result.Errors.Count > 0)
        {
            throw new ArgumentException(result.Errors[0].Message);
        }

        var options = new OperatorOptions();
        foreach (var given in result.CommandResult.Children.OfType<OptionResult>().Where(o => !o.Implicit))
        {
            var flag = Flags.First(f => "--" + f.Name == given.Option.Name);
            options = flag.Apply(options, flag.Name, given.Tokens.Count > 0 ? given.Tokens[^1].Value : "true");
        }

        if (options.LeaderElect && options.RenewDeadline >= options.LeaseDuration)
        {
            throw new ArgumentException("--renew-deadline-seconds must be less than --lease-duration-seconds");
        }

        return options;
    }

    private static Command BuildCommand()
    {
        var command = new Command("operator", "Runs the TrainingJob operator.");
        foreach (var flag in Flags)
        {
            command.Options.Add(new Option<string[]>("--" + flag.Name)
            {
                Description = flag.Help,
                HelpName = flag.Value,
                // A switch may stand alone (--leader-elect); any other flag needs its value.
                Arity = flag.IsSwitch ? ArgumentArity.ZeroOrMore : ArgumentArity.OneOrMore,
                AllowMultipleArgumentsPerToken = false,
            });
        }
        return command;
    }

    private static bool ParseBool(string name, string value) => value.ToLowerInvariant() switch
    {
        "true" or "1" or "yes" => true,
        "false" or "0" or "no" => false,
        _ => throw new ArgumentException($"--{name} takes true or false, not '{value}'"),
    };

    private static string ParseImage(string name, string value) =>
        !string.IsNullOrWhiteSpace(value) && !value.Any(char.IsWhiteSpace)
            ? value
            : throw new ArgumentException($"--{name} takes an image reference (registry/name:tag), not '{value}'");

    private static int ParseInt(string name, string value, int min, int max) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n
            : throw new ArgumentException($"--{name} takes a whole number from {min} to {max}, not '{value}'");

    private sealed record Flag(string Name, string Value, string Help, Func<OperatorOptions, string, string, OperatorOptions> Apply, bool IsSwitch = false);
}
