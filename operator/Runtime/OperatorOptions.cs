using System.Globalization;

namespace K8sTraining.Operator.Runtime;

/// <summary>The operator's command line (`--name value` or `--name=value`).</summary>
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

    /// <summary>Every job is reconciled again this often even without events (a safety net, as controller-runtime's SyncPeriod).</summary>
    public TimeSpan ResyncPeriod { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How often the trainer of a running attempt is asked for its position (its /metrics), so the status shows the
    /// live progress and the newest checkpoint; 0 turns it off (then both move only when an attempt ends).
    /// </summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(30);

    public static OperatorOptions Parse(IReadOnlyList<string> args)
    {
        var options = new OperatorOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"unexpected argument '{arg}'");
            }

            string name;
            string value;
            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                name = arg[2..eq];
                value = arg[(eq + 1)..];
            }
            else
            {
                name = arg[2..];
                value = i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : "true";
            }

            options = name switch
            {
                "kubeconfig" => options with { Kubeconfig = value },
                "namespaces" => options with { Namespaces = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) },
                "leader-elect" => options with { LeaderElect = ParseBool(name, value) },
                "leader-election-namespace" => options with { LeaderElectionNamespace = value },
                "leader-election-lease-name" => options with { LeaderElectionLeaseName = value },
                "identity" => options with { Identity = value },
                "http-port" => options with { HttpPort = ParseInt(name, value, 0, 65535) },
                "max-concurrent-reconciles" => options with { MaxConcurrentReconciles = ParseInt(name, value, 1, 1000) },
                "watch-timeout-seconds" => options with { WatchTimeoutSeconds = ParseInt(name, value, 1, 3600) },
                "lease-duration-seconds" => options with { LeaseDuration = TimeSpan.FromSeconds(ParseInt(name, value, 1, 3600)) },
                "renew-deadline-seconds" => options with { RenewDeadline = TimeSpan.FromSeconds(ParseInt(name, value, 1, 3600)) },
                "retry-period-seconds" => options with { RetryPeriod = TimeSpan.FromSeconds(ParseInt(name, value, 1, 3600)) },
                "resync-period-seconds" => options with { ResyncPeriod = TimeSpan.FromSeconds(ParseInt(name, value, 1, 86400)) },
                "progress-interval-seconds" => options with { ProgressInterval = TimeSpan.FromSeconds(ParseInt(name, value, 0, 86400)) },
                _ => throw new ArgumentException($"unknown flag --{name}"),
            };
        }

        if (options.LeaderElect && options.RenewDeadline >= options.LeaseDuration)
        {
            throw new ArgumentException("--renew-deadline-seconds must be less than --lease-duration-seconds");
        }

        return options;
    }

    private static bool ParseBool(string name, string value) => value.ToLowerInvariant() switch
    {
        "true" or "1" or "yes" => true,
        "false" or "0" or "no" => false,
        _ => throw new ArgumentException($"--{name} takes true or false, not '{value}'"),
    };

    private static int ParseInt(string name, string value, int min, int max) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n
            : throw new ArgumentException($"--{name} takes a whole number from {min} to {max}, not '{value}'");
}
